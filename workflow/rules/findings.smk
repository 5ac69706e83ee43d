# Findings (results/findings.{csv,md}): each observation of the paper as a statement with its
# statistic, the paper's value, ours with a 95 % bootstrap interval, and a verdict.


def findings_instances():
    """Every experiment's records, labelled '<experiment>:<key>' for nas.products."""
    out = {f"family:{k}": v for k, v in family_instances().items()}
    out["ground_truth"] = instances(gt_instances())
    if STUDY.enabled("groups"):
        for (grouping, m), insts in STUDY.groups().items():
            out[f"groups:{grouping}/{m}"] = [records(inst) for inst in insts]
    if STUDY.enabled("prefix"):
        for (epochs, k), paths in STUDY.prefix_instances().items():
            out[f"prefix:{epochs}/{k}"] = instances(paths)
    for epoch in STUDY.finetune_epochs():
        out[f"finetune:{epoch}"] = [[f"{FINETUNE}/epoch{epoch}.csv"]]
    if STUDY.enabled("long"):
        out["long"] = instances([STUDY.long_run()])
    if STUDY.enabled("bn_momentum"):
        for value, paths in STUDY.bn_runs().items():
            out[f"bn:{value}"] = instances(paths)
    if STUDY.enabled("sgd_momentum"):
        for value, path in STUDY.sgd_runs().items():
            out[f"sgd:{value}"] = instances([path])
    return out


PRODUCTS["findings"] = findings_instances


rule findings:
    input:
        lambda wildcards: product_files("findings"),
    output:
        csv=report(
            f"{RESULTS}/findings.csv",
            category="Findings",
            caption="../report/findings.rst",
        ),
        md=report(
            f"{RESULTS}/findings.md",
            category="Findings",
            caption="../report/findings.rst",
        ),
    log:
        "logs/findings.log",
    conda:
        "../envs/nas.yaml"
    params:
        instances=lambda wildcards: findings_instances(),
    script:
        "../scripts/findings.py"
