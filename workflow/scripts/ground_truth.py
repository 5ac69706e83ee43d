"""Ground-truth table (child, acc_mean, acc_std, rank) from trained children or the paper."""

import sys

from nas.analysis.products import write_ground_truth

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
write_ground_truth(sm.params.instances, sm.params.source, sm.output[0])
