# Figures 2-9 as PNG and PDF.


rule figure:
    input:
        product_inputs,
    output:
        report(
            multiext(f"{FIGURES}/{{name}}", ".png", ".pdf"),
            category="Figures",
            caption="../report/figures.rst",
        ),
    params:
        instances=product_params,
    log:
        "logs/figures/{name}.log",
    script:
        "../scripts/figure.py"
