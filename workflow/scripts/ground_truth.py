"""Ground-truth table (child, acc_mean, acc_std, rank): trained children, the paper's Table 5,
or NAS-Bench-201's published table for the children the study evaluates."""

import sys

from nas.analysis.products import write_ground_truth
from nas.study.plan import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
study = Study(sm.config)
children = study.evaluated_children() if sm.params.source == "nasbench201" else None
table = write_ground_truth(
    sm.params.instances, sm.params.source, sm.output[0], children, study.base["dataset"]
)
best = table.sort_values("rank").iloc[0]
print(
    f"ground truth ({sm.params.source}): {len(table)} children, accuracy "
    f"{table.acc_mean.min():.2f}-{table.acc_mean.max():.2f} %, best {best.child}",
    file=sys.stderr,
)
