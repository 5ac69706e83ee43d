"""The README's "results at a glance" block, generated from a run's results (never typed in):

python benchmarks/readme_results.py RESULTS_DIR [--write README.md] [--run "what ran, where"]

Prints the block: Table 1's S-Tau and Table 2's GT-Tau beside the paper's, then every finding
with its verdict and reason. With --write it replaces the README's block between the markers
below, so the README shows exactly what the named run wrote.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

START, END = "<!-- results: start -->", "<!-- results: end -->"


def fmt(x: float, digits: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:.{digits}f}"


def interval(row: pd.Series, lo: str, hi: str) -> str:
    if lo not in row or pd.isna(row[lo]):
        return ""
    return f" [{fmt(row[lo])}, {fmt(row[hi])}]"


def rank_rows(results: Path) -> list[str]:
    """One row per share-all family: S-Tau (Table 1) and GT-Tau (Table 2), ours and paper's."""
    t1 = pd.read_csv(results / "tables/table1.csv").set_index("experiment")
    t2 = pd.read_csv(results / "tables/table2.csv").set_index("experiment")
    lines = [
        "| experiment | S-Tau (95 % interval) | paper | GT-Tau (95 % interval) | paper |",
        "|---|---|---|---|---|",
    ]
    for name in t1.index.intersection(t2.index):
        a, b = t1.loc[name], t2.loc[name]
        lines.append(
            f"| {name} | {fmt(a['s_tau'])}{interval(a, 's_tau_lo', 's_tau_hi')} | "
            f"{fmt(a.get('s_tau_paper'))} | "
            f"{fmt(b['gt_tau_mean'])}{interval(b, 'gt_tau_lo', 'gt_tau_hi')} | "
            f"{fmt(b.get('gt_tau_mean_paper'))} |"
        )
    return lines


def finding_rows(results: Path) -> list[str]:
    table = pd.read_csv(results / "findings.csv")
    lines = [
        "| finding | verdict (reason) | effect | 95 % interval | p adj | n | n needed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        ci = "" if pd.isna(r.ci_low) else f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]"
        p_adj = "" if pd.isna(r.p_adj) else f"{r.p_adj:.2g}"
        needed = "" if pd.isna(r.n_needed) else str(int(r.n_needed))
        lines.append(
            f"| {r.id} | {r.verdict} ({r.reason}) | {fmt(r.effect)} | {ci} | {p_adj} | "
            f"{r.n} | {needed} |"
        )
    return lines


def block(results: Path, run: str) -> str:
    lines = [START, "", f"*{run}*" if run else "", ""]
    lines += rank_rows(results) + [""] + finding_rows(results) + ["", END]
    return "\n".join(lines)


def write(readme: Path, text: str) -> None:
    old = readme.read_text()
    if START not in old or END not in old:
        raise SystemExit(f"{readme} has no {START} ... {END} block")
    head, rest = old.split(START, 1)
    readme.write_text(head + text + rest.split(END, 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--write", type=Path, help="README whose block to replace")
    parser.add_argument("--run", default="", help="one line: which run, commit, machine")
    args = parser.parse_args()
    text = block(args.results, args.run)
    if args.write:
        write(args.write, text)
    print(text)


if __name__ == "__main__":
    main()
