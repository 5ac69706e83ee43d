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
    log:
        "logs/figures/{name}.log",
    conda:
        "../envs/nas.yaml"
    params:
        instances=product_params,
    script:
        "../scripts/figure.py"
