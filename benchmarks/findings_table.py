"""The compact findings table of the README, from a run's results/findings.csv:

python benchmarks/findings_table.py [results/findings.csv]
"""

import sys

import pandas as pd

table = pd.read_csv(sys.argv[1] if len(sys.argv) > 1 else "results/findings.csv")


def fmt(x: float, digits: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:.{digits}f}"


print("| finding | verdict (reason) | effect | 95 % interval | p adj | n | n needed |")
print("|---|---|---|---|---|---|---|")
for r in table.itertuples():
    interval = "" if pd.isna(r.ci_low) else f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]"
    p_adj = "" if pd.isna(r.p_adj) else f"{r.p_adj:.2g}"
    needed = "" if pd.isna(r.n_needed) else str(int(r.n_needed))
    print(
        f"| {r.id} | {r.verdict} ({r.reason}) | {fmt(r.effect)} | {interval} | {p_adj} | "
        f"{r.n} | {needed} |"
    )
