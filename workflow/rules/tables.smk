# Tables 1-5: tidy CSV (with the paper's published value beside ours), Markdown and LaTeX.


rule table:
    input:
        product_inputs,
    output:
        report(
            multiext(f"{TABLES}/{{name}}", ".csv", ".md", ".tex"),
            category="Tables",
            caption="../report/tables.rst",
        ),
    log:
        "logs/tables/{name}.log",
    conda:
        "../envs/nas.yaml"
    params:
        instances=product_params,
    script:
        "../scripts/table.py"
