# Planning summary: jobs, trainings and estimated GPU-hours per kind, before anything runs.


localrules:
    plan,


rule plan:
    output:
        PLAN,
    log:
        "logs/plan.log",
    conda:
        "../envs/nas.yaml"
    script:
        "../scripts/plan.py"
