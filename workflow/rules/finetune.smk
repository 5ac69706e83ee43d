# Finetuning (paper Figure 4): every child trained alone for a few mini-batches from a
# snapshot of each "different seeds" instance (the finding's unit is the instance; Figure 4
# draws the first). Every share-all run writes its snapshots
# (config experiments.finetune.epochs) into its own folder, beside its resume state; the
# `snapshot` rule declares each one as a file of its own under results/snapshots/ (a hard
# link, else a copy), so finetuning and BN recalibration name their snapshots as inputs and
# `snakemake results/snapshots/share/e12/fixed/base/init0_ord0/epoch6.pt` builds one. They
# are not outputs of the training rule itself: Snakemake removes a job's outputs before it
# runs, and a resumed run does not write again the snapshots of epochs it has passed.


localrules:
    snapshot,


rule snapshot:
    input:
        lambda wildcards: producers([f"{snapshot_run(wildcards)}/records.csv"]),
    output:
        results_file(paths.snapshot_file(RUN_PATTERNS["share"], "{epoch}")),
    log:
        f"logs/snapshots/{RUN_PATTERNS['share']}/epoch{{epoch}}.log",
    conda:
        "../envs/nas.yaml"
    params:
        written=lambda wildcards: f"{snapshot_run(wildcards)}/snapshots/epoch_{wildcards.epoch}.pt",
    shell:
        LINK_OR_COPY


rule finetune:
    input:
        snapshot=lambda wildcards: snapshot_of(
            finetune_source(wildcards), wildcards.epoch
        ),
    output:
        results_file(paths.finetune_file("{epoch}", "{seed}")),
    log:
        "logs/finetune/init{seed}/epoch{epoch}.log",
    conda:
        "../envs/nas.yaml"
    resources:
        runtime=120,
        mem_mb=8000,
    params:
        args=lambda wildcards: job_args(finetune_source(wildcards)),
        steps=config["experiments"]["finetune"]["steps"],
    shell:
        "nas finetune {params.args} --snapshot {input.snapshot:q} --steps {params.steps:q} "
        "--out {output:q} --die-with-parent > {log:q} 2>&1"
