# Finetuning (paper Figure 4): every child trained alone for a few mini-batches from a
# snapshot of the first "different seeds" instance. Snapshots are written by that run.

FINETUNE = f"{RESULTS}/{catalog.FINETUNE}"


rule finetune:
    input:
        (
            [f"{RUNS}/{STUDY.finetune_source()}/records.csv"]
            if STUDY.finetune_epochs()
            else []
        ),
    output:
        f"{FINETUNE}/epoch{{epoch}}.csv",
    log:
        "logs/finetune/epoch{epoch}.log",
    conda:
        "../envs/nas.yaml"
    resources:
        runtime=120,
        mem_mb=8000,
    params:
        args=lambda wildcards: job_args(STUDY.finetune_source()),
        snapshot=lambda wildcards: f"{RUNS}/{STUDY.finetune_source()}/snapshots/epoch_{wildcards.epoch}.pt",
        steps=config["experiments"]["finetune"]["steps"],
    shell:
        "nas finetune {params.args} --snapshot {params.snapshot:q} --steps {params.steps:q} "
        "--out {output:q} --die-with-parent > {log:q} 2>&1"
