# Training: one rule for every training process (share-all instance, packed groups,
# ground-truth children, prefix sharing). The resume state (resume.pt beside the records) is
# not a declared output, so a retried or requeued job continues where it stopped.
# --overwrite: a job whose parameters changed (Snakemake reruns it) finds a run folder of
# other arguments and starts it afresh; the same arguments still resume. --die-with-parent:
# the trainer saves its checkpoint and stops if Snakemake is killed (even with SIGKILL).


rule train:
    input:
        data_inputs(),
    output:
        f"{RUNS}/{{run}}/records.csv",
    log:
        "logs/train/{run}.log",
    priority: job_priority
    conda:
        "../envs/nas.yaml"
    resources:
        runtime=job_runtime,
        mem_mb=8000,
    params:
        args=train_args,
        out=lambda wildcards: f"{RUNS}/{wildcards.run}",
    shell:
        "nas train {params.args} --out {params.out:q} --overwrite --die-with-parent "
        "> {log:q} 2>&1"


# Seed packing (config seeds_per_job): the init seeds of a group or ground-truth job trained
# as one packed model; each seed's records.csv lands in {pack}/init<seed>/, listed by pack.csv.
rule train_packed:
    input:
        data_inputs(),
    output:
        f"{RUNS}/{{pack}}/pack.csv",
    log:
        "logs/train/{pack}.log",
    priority: job_priority
    conda:
        "../envs/nas.yaml"
    resources:
        runtime=job_runtime,
        mem_mb=8000,
    params:
        args=packed_args,
    shell:
        "nas train-packed {params.args} --manifest {output:q} --overwrite --die-with-parent "
        "> {log:q} 2>&1"
