"""Recompute every tested finding's interval, p raw, p adjusted and verdict from
findings_units.csv and nas/analysis/reference/claims.yaml alone, and print the largest difference
from findings.csv (0 when the file holds what it says).

    python benchmarks/recompute_findings.py [RESULTS_DIR]
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nas.analysis import findings

results = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
table = pd.read_csv(results / "findings.csv")
units = pd.read_csv(results / "findings_units.csv")
again = findings.recompute(table, units)
printed = table.set_index("id").loc[again.index]
for column in ("ci_low", "ci_high", "p_raw", "p_adj"):
    a, b = again[column].to_numpy(float), printed[column].to_numpy(float)
    both = ~(np.isnan(a) & np.isnan(b))
    print(f"{column}: largest difference {np.nanmax(np.abs(a - b)[both], initial=0.0):.2g}")
same = (again.verdict == printed.verdict) & (again.reason == printed.reason)
print(f"verdicts and reasons equal: {int(same.sum())} of {len(again)} tested findings")
