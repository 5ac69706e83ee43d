"""The numbers the paper gives only in its text, beside ours (results/tables/intext.*).

Tables 1-5 carry the paper's tabulated numbers; these are the ones a reader finds in the
prose: a range (0.39-0.63), a pair of values (0.2570 against 0.5610), a bound ("over 1000
epochs"). Each is one function registered in NUMBERS, in the order of the paper, that reads
the loaded runs (``findings.Runs``: the findings' inputs, so one rule feeds both) and returns
our low and high value (equal for a single value) with the units it summarises, or None when
its experiment is switched off. Unlike a finding there is no verdict: the paper gives no
threshold for these numbers, and the scale model's epochs differ from the paper's, so the
note says what to compare.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nas.analysis import metrics, tables
from nas.analysis.findings import Runs, case_study_pairs

COLUMNS = [
    "id",
    "section",
    "quantity",
    "paper",
    "paper_low",
    "paper_high",
    "ours_low",
    "ours_high",
    "n",
    "note",
]
PREFIX_THRESHOLD = 0.6  # Section 4.3: "takes over 1000 epochs for it to climb up to above 0.6"


@dataclass(frozen=True)
class Ours:
    """Our value (low == high) or range, over `n` units, and what to read it against."""

    low: float
    high: float
    n: int
    note: str = ""
    paper: bool = True  # whether the paper's number is about this row


@dataclass(frozen=True)
class Number:
    id: str
    section: str
    quantity: str
    paper: str  # as printed
    paper_low: float
    paper_high: float
    compute: Callable[[Runs], list[tuple[str, Ours]] | None]


NUMBERS: list[Number] = []


def number(id: str, section: str, quantity: str, paper: str, low: float, high: float):
    """Register an in-text number. Its function returns [(id suffix, Ours), ...]: most give
    one row (suffix ""), the prefix bound one row per k."""

    def register(fn: Callable[[Runs], list[tuple[str, Ours]] | None]):
        NUMBERS.append(Number(id, section, quantity, paper, low, high, fn))
        return fn

    return register


def _range(values: list[float], note: str = "") -> Ours:
    return Ours(float(np.min(values)), float(np.max(values)), len(values), note)


def _last_epochs(inst: pd.DataFrame, runs: Runs) -> pd.DataFrame:
    matrix = tables.epoch_matrix(inst)
    return tables.last_rows(matrix, min(runs.last_epochs, len(matrix)), "last epochs")


@number(
    "s32_seed_s_tau_last_epochs",
    "3.2 / Fig. 2",
    "S-Tau of the different-seeds instances at each of the last epochs: lowest and highest",
    "0.3-0.7",
    0.3,
    0.7,
)
def _seed_s_tau(runs: Runs) -> list[tuple[str, Ours]] | None:
    insts = runs.of("family").get("different_seeds") or []
    if len(insts) < 2:  # S-Tau compares instances
        return None
    curve = tables.s_tau_per_epoch([tables.epoch_matrix(i) for i in insts])
    taus = list(curve["s_tau"].iloc[-runs.last_epochs :])
    return [("", _range(taus, f"over the last {len(taus)} evaluated epochs"))]


@number(
    "s32_last_epochs_s_tau",
    "3.2 Obs. 3",
    "S-Tau of the ranks of the last epochs within one reshuffled-order instance: range over "
    "instances",
    "0.39-0.63",
    0.39,
    0.63,
)
def _last_epochs_s_tau(runs: Runs) -> list[tuple[str, Ours]] | None:
    insts = runs.of("family").get(tables.SHUFFLE) or []
    values = [metrics.s_tau(tables.row_list(_last_epochs(i, runs)))["mean"] for i in insts]
    if not values:
        return None
    return [("", _range(values, f"last {runs.last_epochs} epochs per instance"))]


@number(
    "s32_different_epochs_gt_tau",
    "3.2 Obs. 3",
    "GT-Tau over the last epochs of the reshuffled-order instance of median final GT-Tau "
    "(the paper's 0.47): lowest and highest",
    "0.1-0.7",
    0.1,
    0.7,
)
def _different_epochs_gt_tau(runs: Runs) -> list[tuple[str, Ours]] | None:
    if not runs.of("family").get(tables.SHUFFLE):
        return None
    insts = runs.of("family")[tables.SHUFFLE]
    chosen = insts[tables.different_epochs_instance(insts, runs.gt)]
    taus = tables.gt_tau_curve(_last_epochs(chosen, runs), runs.gt)
    return [("", _range(list(taus), "the instance Table 2's different_epochs row reads"))]


def _finetune_range(pick: Callable[[list[int]], int]):
    """GT-Tau over the second half of the finetuning steps from the snapshot `pick` chooses."""

    def compute(runs: Runs) -> list[tuple[str, Ours]] | None:
        if not runs.of("finetune"):
            return None
        epoch = pick(list(runs.of("finetune")))
        first = runs.of("finetune")[epoch][0]  # the paper's numbers are of one instance
        taus = tables.gt_tau_curve(tables.finetune_matrix(first), runs.gt)
        late = list(taus.iloc[len(taus) // 2 :])
        note = f"snapshot of epoch {epoch}; second half of the finetuning steps"
        return [("", _range(late, note))]

    return compute


for _which, _panel, _paper, _text, _pick in [
    ("earlier", "4c", 0.6, "up to 0.6 within 10 mini-batches", min),
    ("later", "4d", 0.8, "close to 0.8 within 5 mini-batches", max),
]:
    number(
        f"s33_finetune_{_which}_snapshot",
        f"3.3 / Fig. {_panel}",
        f"GT-Tau finetuning from the {_which} snapshot (paper: {_text})",
        str(_paper),
        _paper,
        _paper,
    )(_finetune_range(_pick))


def _case_study(index: int, what: str) -> Callable[[Runs], list[tuple[str, Ours]] | None]:
    def compute(runs: Runs) -> list[tuple[str, Ours]] | None:
        pairs = case_study_pairs(runs)
        if pairs is None:
            return None
        mean = float(np.mean([pair[index] for pair in pairs]))
        note = f"m = {runs.group_m}, first instance, {what}, window {runs.window}"
        return [("", Ours(mean, mean, len(pairs), note))]

    return compute


number(
    "s421_case_study_groups",
    "4.2.1",
    "GT-Tau-Mean-k of the groups of a random partition, averaged over the groups",
    "0.2570",
    0.2570,
    0.2570,
)(_case_study(0, "each group its own super-net"))
number(
    "s421_case_study_share_all",
    "4.2.1",
    "GT-Tau-Mean-k of the m = 1 ranks cut into the same groups, averaged over the groups",
    "0.5610",
    0.5610,
    0.5610,
)(_case_study(1, "all children sharing one super-net"))


@number(
    "s43_prefix_first_above",
    "4.3",
    f"First evaluated epoch at which prefix sharing's mean GT-Tau is above {PREFIX_THRESHOLD} "
    "(the longest runs), per k",
    "over 1000 (k = 0, of 2000)",
    1000.0,
    math.nan,
)
def _prefix_first_above(runs: Runs) -> list[tuple[str, Ours]] | None:
    if not runs.of("prefix"):
        return None
    longest = max(e for e, _ in runs.of("prefix"))
    insts = {key: v for key, v in runs.of("prefix").items() if key[0] == longest}
    firsts = tables.first_above(tables.prefix_curve(insts, runs.gt), PREFIX_THRESHOLD)
    out = []
    for row in firsts.itertuples():
        if math.isnan(row.first_epoch):
            note = f"never above {PREFIX_THRESHOLD} in {longest} epochs"
        else:
            note = f"{row.first_epoch / longest:.2f} of the {longest}-epoch run"
        note += " (paper: over 0.5 of the run)"
        n = len(insts[(longest, row.k)])
        ours = Ours(row.first_epoch, row.first_epoch, n, note, paper=row.k == 0)
        out.append((f"_k{row.k}", ours))
    return out


@number(
    "a22_sgd_momentum0_gt_tau",
    "A.2.2 / Fig. 9",
    "GT-Tau over the last mini-batches with SGD momentum 0: lowest and highest",
    "-0.1-0.5",
    -0.1,
    0.5,
)
def _sgd_zero(runs: Runs) -> list[tuple[str, Ours]] | None:
    if 0.0 not in runs.of("sgd"):
        return None
    matrix = tables.dense_matrix(runs.of("sgd")[0.0][0])
    taus = tables.gt_tau_curve(matrix, runs.gt)
    return [("", _range(list(taus), f"the {len(taus)} mini-batches Figure 9 draws"))]


def table(runs: Runs) -> pd.DataFrame:
    """One row per in-text number whose experiment ran (see COLUMNS); the prefix bound
    gives one row per k, the paper's value on k = 0 only."""
    rows = []
    for num in NUMBERS:
        for suffix, ours in num.compute(runs) or []:
            paper_given = ours.paper
            rows.append(
                {
                    "id": num.id + suffix,
                    "section": num.section,
                    "quantity": num.quantity,
                    "paper": num.paper if paper_given else "",
                    "paper_low": num.paper_low if paper_given else math.nan,
                    "paper_high": num.paper_high if paper_given else math.nan,
                    "ours_low": ours.low,
                    "ours_high": ours.high,
                    "n": ours.n,
                    "note": ours.note,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
