# Ground truth: every child trained alone (group sharing with m = number of children), or the
# paper's published Table 5 when config ground_truth is "paper".


rule ground_truth:
    input:
        producers(flat(gt_files())),
    output:
        GROUND_TRUTH,
    log:
        "logs/ground_truth.log",
    conda:
        "../envs/nas.yaml"
    params:
        instances=gt_files()["ground_truth"],
        source=config["ground_truth"],
    script:
        "../scripts/ground_truth.py"
