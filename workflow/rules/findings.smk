# Findings (results/findings.{csv,md}): each observation of the paper as a statement with its
# statistic, the paper's value, ours with a 95 % bootstrap interval, and a verdict.


PRODUCTS["findings"] = findings_instances
PRODUCTS["intext"] = findings_instances  # the in-text numbers read the same runs


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
