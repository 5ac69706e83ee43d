# Ground truth: every child trained alone (group sharing with m = number of children), or the
# paper's published Table 5 when config ground_truth is "paper".


rule ground_truth:
    input:
        producers(records(gt_instances())),
    output:
        GROUND_TRUTH,
    log:
        "logs/ground_truth.log",
    conda:
        "../envs/nas.yaml"
    params:
        instances=instances(gt_instances()),
        source=config.get("ground_truth", "trained"),
    script:
        "../scripts/ground_truth.py"


PRODUCTS["table5"] = lambda: {"ground_truth": instances(gt_instances())}
