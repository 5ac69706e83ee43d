"""The compact findings table of the README, from a run's results/findings.csv, or several
runs' findings side by side (one column per run, as docs/large-spaces.md compares spaces):

python benchmarks/findings_table.py [results/findings.csv]
python benchmarks/findings_table.py small=A/results/findings.csv large=B/results/findings.csv
"""

import sys

import pandas as pd


def fmt(x: float, digits: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:.{digits}f}"


def interval(r) -> str:
    return "" if pd.isna(r.ci_low) else f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]"


def one_run(table: pd.DataFrame) -> None:
    print("| finding | verdict (reason) | effect | 95 % interval | p adj | n | n needed |")
    print("|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        p_adj = "" if pd.isna(r.p_adj) else f"{r.p_adj:.2g}"
        needed = "" if pd.isna(r.n_needed) else str(int(r.n_needed))
        print(
            f"| {r.id} | {r.verdict} ({r.reason}) | {fmt(r.effect)} | {interval(r)} | {p_adj} | "
            f"{r.n} | {needed} |"
        )


def side_by_side(tables: dict[str, pd.DataFrame]) -> None:
    """A row per finding any run tested, first run first; blank where a run lacks it."""
    ids = list(dict.fromkeys(i for t in tables.values() for i in t.id))
    print(
        "| finding | " + " | ".join(f"{k}: verdict (reason), effect [95 %]" for k in tables) + " |"
    )
    print("|---|" + "---|" * len(tables))
    for i in ids:
        cells = []
        for t in tables.values():
            rows = list(t[t.id == i].itertuples())
            r = rows[0] if rows else None
            cells.append(
                f"{r.verdict} ({r.reason}): {fmt(r.effect)} {interval(r)}".strip() if r else ""
            )
        print(f"| {i} | " + " | ".join(cells) + " |")


def main(args: list[str]) -> None:
    if len(args) <= 1:
        one_run(pd.read_csv(args[0].split("=")[-1] if args else "results/findings.csv"))
        return
    labelled = [a.split("=", 1) if "=" in a else (a, a) for a in args]
    side_by_side({label: pd.read_csv(path) for label, path in labelled})


if __name__ == "__main__":
    main(sys.argv[1:])
