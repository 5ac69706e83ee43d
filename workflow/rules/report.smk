# Planning summary: jobs, trainings and estimated GPU-hours per kind, before anything runs.


localrules:
    plan,


rule plan:
    output:
        f"{RESULTS}/plan.csv",
    log:
        "logs/plan.log",
    conda:
        "../envs/nas.yaml"
    script:
        "../scripts/plan.py"
