"""Findings: the verdict rule, the bootstrap, and criteria on synthetic records whose verdict
is known (supported, contradicted, inconclusive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nas import findings, stats
from nas.searchspace import SearchSpace

CHILDREN = SearchSpace().children
TRUTH = pd.Series(np.linspace(0.9, 0.6, len(CHILDREN)), index=CHILDREN)  # 111 best


def gt_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"acc_mean": TRUTH * 100, "acc_std": 0.1, "rank": np.arange(1, 65)},
        index=pd.Index(CHILDREN, name="child"),
    )


def instance(rows: dict[int, pd.Series], kind: str = "epoch") -> pd.DataFrame:
    """Records of one instance: {point: accuracy per child} as epoch or dense points."""
    out = []
    for point, acc in rows.items():
        for child, a in acc.items():
            epoch, step = (point, point * 10) if kind == "epoch" else (1, point)
            out.append((kind, epoch, step, "", child, float(a), 0.0))
    cols = ["point_kind", "epoch", "step", "trained_child", "child", "accuracy", "loss"]
    return pd.DataFrame(out, columns=cols)


def noisy(seed: int, signal: float) -> pd.Series:
    """Truth times `signal` plus noise: signal 1 follows the truth closely, 0 is random."""
    rng = np.random.default_rng(seed)
    return TRUTH * signal + pd.Series(rng.normal(0, 0.02, len(CHILDREN)), index=CHILDREN)


# --------------------------------------------------------------------------- stats


def test_bootstrap_interval_covers_the_mean_and_is_reproducible():
    values = np.random.default_rng(1).normal(2.0, 1.0, 200)
    lo, hi = stats.bootstrap_interval(values)
    assert lo < values.mean() < hi
    assert hi - lo == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.2)  # normal theory
    assert stats.bootstrap_interval(values) == (lo, hi)


def test_bootstrap_of_identical_values_has_zero_width():
    assert stats.bootstrap_interval([0.3] * 5) == pytest.approx((0.3, 0.3))


@pytest.mark.parametrize(
    "claim, interval, n, expected",
    [
        (stats.Claim("<", 0.5), (0.1, 0.4), 5, stats.SUPPORTED),
        (stats.Claim("<", 0.5), (0.6, 0.7), 5, stats.CONTRADICTED),
        (stats.Claim("<", 0.5), (0.4, 0.6), 5, stats.INCONCLUSIVE),
        (stats.Claim(">", 0.0), (0.1, 0.2), 5, stats.SUPPORTED),
        (stats.Claim(">", 0.0), (-0.2, -0.1), 5, stats.CONTRADICTED),
        (stats.Claim(">", 0.0), (0.1, 0.2), 2, stats.INCONCLUSIVE),  # too few units
        (stats.Claim(">", float("nan")), (0.1, 0.2), 5, stats.INCONCLUSIVE),
    ],
)
def test_verdict_reads_the_interval_against_the_claim(claim, interval, n, expected):
    assert stats.verdict(claim, interval, n) == expected


def test_a_claim_has_a_direction():
    with pytest.raises(ValueError, match="direction"):
        stats.Claim("=", 0.0)


# --------------------------------------------------------------------------- criteria


def obs1_row(family_signal: float, n_instances: int) -> pd.Series:
    """Observation 1 (seeds) when the ground truth's seeds agree closely (S-Tau near 0.9)."""
    runs = findings.Runs(
        gt=gt_table(),
        gt_instances=[noisy(100 + s, 1.0) for s in range(3)],
        families={
            "different_seeds": [
                instance({1: noisy(s, 0.5), 2: noisy(s, family_signal)}) for s in range(n_instances)
            ]
        },
    )
    (wanted,) = [f for f in findings.FINDINGS if f.id == "obs1_different_seeds"]
    return findings.evaluate(runs, [wanted]).iloc[0]


def test_unstable_instances_support_observation_1():
    row = obs1_row(family_signal=0.05, n_instances=6)  # mostly noise: low S-Tau
    assert row.verdict == stats.SUPPORTED and row.ci_high < row.threshold


def test_instances_steadier_than_the_ground_truth_contradict_observation_1():
    row = obs1_row(family_signal=50.0, n_instances=6)  # truth dominates: S-Tau near 1
    assert row.verdict == stats.CONTRADICTED


def test_two_instances_are_inconclusive():
    assert obs1_row(family_signal=0.05, n_instances=2).verdict == stats.INCONCLUSIVE


def test_similarity_trend_is_read_per_instance():
    """GT-Tau-Mean-k rising with m (each instance) supports 4.2.2, falling contradicts it."""

    def runs_with(rising: bool) -> findings.Runs:
        groups = {}
        for m_index, m in enumerate([1, 2, 4, 8, 64]):
            signal = 0.2 + 0.3 * m_index if rising else 1.5 - 0.3 * m_index
            grouping = "similar" if 1 < m < 64 else "random"
            groups[(grouping, m)] = [
                instance({s: noisy(10 * i + s, signal) for s in range(1, 5)}, "dense")
                for i in range(4)
            ]
        return findings.Runs(gt=gt_table(), groups=groups, window=4)

    (wanted,) = [f for f in findings.FINDINGS if f.id == "s422_similar_mean_rises"]
    assert findings.evaluate(runs_with(True), [wanted]).iloc[0].verdict == stats.SUPPORTED
    assert findings.evaluate(runs_with(False), [wanted]).iloc[0].verdict == stats.CONTRADICTED


def test_switched_off_experiments_give_no_row_and_the_report_counts_verdicts(tmp_path):
    runs = findings.Runs(gt=gt_table())
    table = findings.evaluate(runs)
    assert table.empty and list(table.columns) == findings.COLUMNS
    full = findings.evaluate(
        findings.Runs(
            gt=gt_table(),
            gt_instances=[noisy(100 + s, 1.0) for s in range(3)],
            families={
                "different_seeds": [
                    pd.concat([instance({1: noisy(s, 0.05)}), instance(dense(s), "dense")])
                    for s in range(4)
                ]
            },
        )
    )
    findings.write_findings(full, tmp_path / "f.csv", tmp_path / "f.md", "header line")
    text = (tmp_path / "f.md").read_text()
    assert "header line" in text and "obs1_different_seeds" in text and "supported" in text
    assert pd.read_csv(tmp_path / "f.csv")["id"].tolist() == full["id"].tolist()


def dense(seed: int) -> dict[int, pd.Series]:
    return {step: noisy(10 * seed + step, 0.5) for step in range(1, 5)}


def test_every_finding_has_a_unique_id():
    ids = [f.id for f in findings.FINDINGS]
    assert len(ids) == len(set(ids)) >= 18


def test_interference_finding_reads_the_sign_of_the_cosine_against_rank_gains():
    """Telemetry built so that, in every mini-batch, the children with the larger cosine gain
    the more rank: supported; the same with the cosines negated: contradicted."""
    import itertools

    from nas import analysis, findings, reference

    gt = reference.paper_table5()
    children = ["".join(p) for p in itertools.product("1234", repeat=3)]
    rng = np.random.default_rng(0)
    rows = []
    for step in range(1, 13):  # dense points whose ranks move every step
        accs = rng.uniform(0.5, 0.9, len(children))
        rows += [("dense", 1, step, "111", c, a, 0.0) for c, a in zip(children, accs, strict=True)]
    columns = ["point_kind", "epoch", "step", "trained_child", "child", "accuracy", "loss"]
    inst = pd.DataFrame(rows, columns=columns)
    ranks = analysis.rank_matrix(analysis.dense_matrix(inst))
    tele = []
    for step in range(2, 13):
        for child in children[1:9]:
            gain = ranks.at[step - 1, child] - ranks.at[step, child]
            tele.append((step, "111", child, float(gain) / 64))  # cosine grows with the gain
    telemetry = pd.DataFrame(tele, columns=["step", "trained_child", "child", "cosine"])
    f = [x for x in findings.FINDINGS if x.id == "x_interference"]
    runs = findings.Runs(gt=gt, telemetry_records=inst, telemetry=telemetry)
    table = findings.evaluate(runs, f)
    assert table.verdict.item() == "supported" and table.ours.item() == pytest.approx(1.0)
    assert table.n.item() == 11 and table.unit.item() == "mini-batches"
    runs.telemetry = telemetry.assign(cosine=-telemetry.cosine)
    assert findings.evaluate(runs, f).verdict.item() == "contradicted"
