"""Instances the paper's own headline effects would need (power 0.8), unadjusted (alpha / 2
one-sided) and at Holm's strictest step over the scale preset's tested paper claims (17),
from the means and standard deviations of its Tables 2 and 3a:

    python benchmarks/paper_power.py
"""

import math

from nas.analysis import claims, stats

alpha = claims.registry().alpha
family = 17  # the paper's claims the scale preset tests (the rest: not testable at its scale)
effects = {  # name: standardised effect d
    "Obs. 2 far from the ground truth (Table 2: 0.4567 +- 0.1478 against 0.7985)": (0.4567 - 0.7985)
    / 0.1478,
    "Obs. 2 has correlation (Table 2: 0.4567 +- 0.1478 against 0)": 0.4567 / 0.1478,
    "4.2.2 similar m = 16 against m = 1 (Table 3a mean64, pooled sd)": (0.7200 - 0.4988)
    / math.sqrt((0.0213**2 + 0.0320**2) / 2),
    "4.2.1 random m = 16 against m = 1 (Table 3a mean64, pooled sd)": (0.1658 - 0.4988)
    / math.sqrt((0.0316**2 + 0.0320**2) / 2),
    "4.2.2 similar m = 16 against m = 1 (Table 3a std64, pooled sd)": (0.0411 - 0.1497)
    / math.sqrt((0.0098**2 + 0.0455**2) / 2),
}
print("| effect | d | n needed | n needed at Holm's first step |")
print("|---|---|---|---|")
for name, d in effects.items():
    print(
        f"| {name} | {d:.2f} | {stats.n_needed(d, alpha / 2)} | "
        f"{stats.n_needed(d, alpha / 2 / family)} |"
    )
