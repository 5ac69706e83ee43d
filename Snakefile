# Deeper Insights into Weight Sharing in NAS: the whole study as one workflow.
# Full scale: snakemake --profile profiles/slurm      Quick CPU preset: snakemake --profile profiles/local

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/supernet.smk"
include: "workflow/rules/ground_truth.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/recalibration.smk"
include: "workflow/rules/telemetry.smk"
include: "workflow/rules/interference.smk"
include: "workflow/rules/products.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/slurm.smk"


rule all:
    default_target: True
    input:
        all_targets(),
