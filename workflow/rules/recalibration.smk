# BN recalibration (beyond the paper): every child of each "different seeds" instance
# evaluated from the run's final snapshot, its BN statistics first recomputed on N training
# mini-batches (nas recalibrate; N = 0 is the paper's evaluation with the super-net's own
# statistics). One job per instance, named by the share-all run's wildcards.


rule recalibrate:
    input:
        snapshot=lambda wildcards: snapshot_of(job_of(wildcards).path, wildcards.epochs),
    output:
        results_file(paths.recalibration_file(RUN_PATTERNS["share"])),
    log:
        f"logs/recalibration/{RUN_PATTERNS['share']}.log",
    conda:
        "../envs/nas.yaml"
    resources:
        runtime=120,
        mem_mb=8000,
    params:
        args=train_args,
        batches=",".join(map(str, STUDY.recalibration_batches())),
    shell:
        "nas recalibrate {params.args} --snapshot {input.snapshot:q} --batches {params.batches:q} "
        "--out {output:q} --die-with-parent > {log:q} 2>&1"
