# Data: CIFAR-10 is downloaded once, on the machine that runs Snakemake (compute nodes are
# often offline). The quick preset's digits ship with scikit-learn and need no rule.

from pathlib import Path

DATA_READY = f"{config.get('data_root', 'data')}/cifar-10-batches-py/batches.meta"


localrules:
    download_cifar10,


rule download_cifar10:
    output:
        DATA_READY,
    log:
        "logs/download_cifar10.log",
    conda:
        "../envs/nas.yaml"
    params:
        root=lambda wildcards, output: str(Path(output[0]).parent.parent),
    shell:
        "nas download cifar10 --root {params.root:q} > {log:q} 2>&1"
