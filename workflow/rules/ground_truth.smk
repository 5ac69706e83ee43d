# Ground truth: every child trained alone (group sharing with m = number of children), the
# paper's published Table 5 (ground_truth "paper") or NAS-Bench-201's table ("nasbench201").


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
