# Products (nas.study.catalog): Tables 1-5, the in-text numbers and the prefix curve as CSV,
# Markdown and LaTeX (the paper's published values beside ours); Figures 2-9 and the prefix
# curve as PNG and PDF; the findings (each observation of the paper with its verdict). One
# rule per kind; each job reads its product's runs and shows its product's caption.


rule table:
    input:
        unpack(product_inputs("table")),
    output:
        report(
            multiext(f"{TABLES}/{{name}}", *catalog.EXTENSIONS["table"]),
            category="Tables",
            caption="../report/product.rst",
        ),
    log:
        "logs/tables/{name}.log",
    wildcard_constraints:
        name=product_names("table"),
    conda:
        "../envs/nas.yaml"
    params:
        kind="table",
        name=lambda wildcards: wildcards.name,
        files=product_files("table"),
        caption=product_caption("table"),
    script:
        "../scripts/product.py"


rule figure:
    input:
        unpack(product_inputs("figure")),
    output:
        report(
            multiext(f"{FIGURES}/{{name}}", *catalog.EXTENSIONS["figure"]),
            category="Figures",
            caption="../report/product.rst",
        ),
    log:
        "logs/figures/{name}.log",
    wildcard_constraints:
        name=product_names("figure"),
    conda:
        "../envs/nas.yaml"
    params:
        kind="figure",
        name=lambda wildcards: wildcards.name,
        files=product_files("figure"),
        caption=product_caption("figure"),
    script:
        "../scripts/product.py"


rule findings:
    input:
        unpack(product_inputs("section", "findings")),
    output:
        csv=report(
            f"{RESULTS}/findings.csv",
            category="Findings",
            caption="../report/product.rst",
        ),
        md=report(
            f"{RESULTS}/findings.md",
            category="Findings",
            caption="../report/product.rst",
        ),
        units=f"{RESULTS}/findings_units.csv",
    log:
        "logs/findings.log",
    conda:
        "../envs/nas.yaml"
    params:
        kind="section",
        name="findings",
        files=product_files("section", "findings"),
        caption=product_caption("section", "findings"),
    script:
        "../scripts/product.py"
