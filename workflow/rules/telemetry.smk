# Interference telemetry (beyond the paper, experiments.telemetry): the first "different
# seeds" instance writes telemetry.csv beside its records; this local rule declares it as a
# file of its own (a hard link, else a copy), as the snapshot rule does for snapshots.


localrules:
    telemetry,


rule telemetry:
    input:
        lambda wildcards: producers([f"{run_folder(wildcards)}/records.csv"]),
    output:
        results_file(paths.telemetry_file(RUN_PATTERNS["share"])),
    log:
        f"logs/telemetry/{RUN_PATTERNS['share']}.log",
    conda:
        "../envs/nas.yaml"
    params:
        written=lambda wildcards: f"{run_folder(wildcards)}/telemetry.csv",
    shell:
        LINK_OR_COPY
