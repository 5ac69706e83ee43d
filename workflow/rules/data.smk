# Data: CIFAR-10 is downloaded once, on the machine that runs Snakemake (compute nodes are
# often offline). The quick preset's digits ship with scikit-learn and need no rule.

DATA_READY = f"{config.get('data_root', 'data')}/cifar-10-batches-py/batches.meta"


localrules:
    download_cifar10,


rule download_cifar10:
    output:
        DATA_READY,
    params:
        root=config.get("data_root", "data"),
    log:
        "logs/download_cifar10.log",
    shell:
        "nas download cifar10 --root {params.root} > {log} 2>&1"
