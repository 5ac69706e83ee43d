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
    params:
        instances=product_params,
    log:
        "logs/tables/{name}.log",
    script:
        "../scripts/table.py"
