# Groupings from measured interference (beyond the paper, experiments.interference): from the
# first "different seeds" instance, the correlation of the children's accuracy changes before
# its snapshot at the interference epoch (input: its records), or the cosine of their
# gradients at that snapshot (input: the snapshot); then a balanced partition for each m a
# measured grouping is trained at. Seconds of work: local rules.


localrules:
    similarity,
    partition,


rule similarity:
    input:
        source=interference_source,
    output:
        results_file(paths.similarity_file("{signal}")),
    log:
        "logs/interference/{signal}/similarity.log",
    conda:
        "../envs/nas.yaml"
    params:
        epoch=interference_epoch(),
        batches=config["experiments"]["interference"]["gradient_batches"],
    shell:
        "nas interference --signal {wildcards.signal} --source {input.source:q} "
        "--epoch {params.epoch} --batches {params.batches} --out {output:q} > {log:q} 2>&1"


rule partition:
    input:
        results_file(paths.similarity_file("{signal}")),
    output:
        results_file(paths.partition_file("{signal}", "{m}")),
    log:
        "logs/interference/{signal}/m{m}.log",
    conda:
        "../envs/nas.yaml"
    shell:
        "nas partition --similarity {input:q} --m {wildcards.m} --out {output:q} > {log:q} 2>&1"
