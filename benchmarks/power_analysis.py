"""The power analysis behind the instance counts: for each tested finding of a run, the
standardised effect it observed and the n at which that effect would be decided with power
0.8, unadjusted (alpha / 2 one-sided) and at Holm's strictest step in its family (alpha / 2m,
the level the finding with the smallest p must pass):

    python benchmarks/power_analysis.py [results/findings.csv]
"""

import sys

import pandas as pd

from nas.analysis import claims, stats

table = pd.read_csv(sys.argv[1] if len(sys.argv) > 1 else "results/findings.csv")
alpha = claims.registry().alpha
tested = table[table.reason.isin([stats.DECIDED, stats.UNDERPOWERED, stats.ADJUSTED, stats.BOTH])]
size = tested.groupby("family").size()
print("| finding | n | d | n needed | n needed at Holm's first step |")
print("|---|---|---|---|---|")
for r in tested.itertuples():
    if pd.isna(r.d):  # the permutation test: its floor, see findings.csv
        print(f"| {r.id} | {r.n} | | {r.n_needed} per group | |")
        continue
    strict = alpha / 2 / (size[r.family] if r.family == claims.CONFIRMATORY else 1)
    print(
        f"| {r.id} | {r.n} | {r.d:.2f} | {stats.n_needed(r.d, alpha / 2)} | "
        f"{stats.n_needed(r.d, strict)} |"
    )
