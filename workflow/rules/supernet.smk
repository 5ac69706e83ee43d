# Training: a rule per kind of run (nas.study.paths.RUN_PATTERNS), each output pattern with a wildcard
# for what the study varies (epochs, order, seed, k, grouping, m, ...), constrained in
# common.smk to the values the planned jobs take. The resume state (resume.pt beside the
# records) is not a declared output, so a retried or requeued job continues where it stopped.
# --overwrite: a job whose parameters changed (Snakemake reruns it) finds a run folder of
# other arguments and starts it afresh; the same arguments still resume. --die-with-parent:
# the trainer saves its checkpoint and stops if Snakemake is killed (even with SIGKILL).


rule train_share:
    input:
        train_inputs,
    output:
        run_output("share"),
    log:
        run_log("share"),
    priority: job_priority
    conda:
        "../envs/nas.yaml"
    resources:
        runtime=job_runtime,
        mem_mb=8000,
    params:
        args=train_args,
        out=run_folder,
    shell:
        "nas train {params.args} --out {params.out:q} --overwrite --die-with-parent "
        "> {log:q} 2>&1"


use rule train_share as train_prefix with:
    output:
        run_output("prefix"),
    log:
        run_log("prefix"),


use rule train_share as train_strategy with:
    output:
        run_output("strategy"),
    log:
        run_log("strategy"),


# Groups of a partition (and each child alone, the ground truth), `groups_per_job` at a time.
use rule train_share as train_groups with:
    output:
        run_output("groups"),
    log:
        run_log("groups"),


use rule train_share as train_alone with:
    output:
        run_output("alone"),
    log:
        run_log("alone"),


# Beyond the paper: groups warm-started from share-all snapshots, and groups at equal compute
# (config experiments.warm_start, experiments.equal_compute).
use rule train_share as train_warm with:
    output:
        run_output("warm"),
    log:
        run_log("warm"),


use rule train_share as train_equal with:
    output:
        run_output("equal"),
    log:
        run_log("equal"),


# Seed packing (config seeds_per_job): the init seeds of a group or ground-truth job trained
# as one packed model; each seed's records.csv lands in <job>/init<seed>/, listed by pack.csv.
rule train_groups_packed:
    input:
        train_inputs,
    output:
        run_output("groups_packed", "pack.csv"),
    log:
        run_log("groups_packed"),
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


use rule train_groups_packed as train_alone_packed with:
    output:
        run_output("alone_packed", "pack.csv"),
    log:
        run_log("alone_packed"),


use rule train_groups_packed as train_warm_packed with:
    output:
        run_output("warm_packed", "pack.csv"),
    log:
        run_log("warm_packed"),


use rule train_groups_packed as train_equal_packed with:
    output:
        run_output("equal_packed", "pack.csv"),
    log:
        run_log("equal_packed"),
