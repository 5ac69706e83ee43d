"""Findings on synthetic records whose verdict is known: supported, contradicted and each kind
of inconclusive (underpowered, compatible with both, not testable, descriptive); the claims
file as the one source of thresholds; every verdict recomputable from the units file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nas.analysis import claims, findings, stats
from nas.core.spaces import Darts as SearchSpace

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


# --------------------------------------------------------------------------- criteria


def obs1_row(family_signal: float, n_instances: int) -> pd.Series:
    """Observation 1 (seeds) when the ground truth's seeds agree closely (S-Tau near 0.9)."""
    runs = findings.Runs(
        gt=gt_table(),
        gt_instances=[noisy(100 + s, 1.0) for s in range(3)],
        sets={
            "family": {
                "different_seeds": [
                    instance({1: noisy(s, 0.5), 2: noisy(s, family_signal)})
                    for s in range(n_instances)
                ]
            }
        },
    )
    (wanted,) = [f for f in findings.FINDINGS if f.id == "obs1_different_seeds"]
    return findings.evaluate(runs, [wanted]).iloc[0]


def test_unstable_instances_support_observation_1():
    row = obs1_row(family_signal=0.05, n_instances=6)  # mostly noise: low S-Tau
    assert row.verdict == stats.SUPPORTED and row.effect < 0
    assert row.p_raw == pytest.approx(2 / 84)  # the most extreme of C(9, 3) relabellings
    assert row.n == 3 and row.n_needed == 4 and "pair-permutation" in row.method


def test_instances_steadier_than_the_ground_truth_contradict_observation_1():
    row = obs1_row(family_signal=50.0, n_instances=6)  # truth dominates: S-Tau near 1
    assert row.verdict == stats.CONTRADICTED


def test_too_few_rank_vectors_are_underpowered():
    """3 instances against 3 seeds: an exact test cannot reach alpha / 2 (1 / 20 > 0.025)."""
    row = obs1_row(family_signal=0.05, n_instances=3)
    assert (row.verdict, row.reason) == (stats.INCONCLUSIVE, stats.UNDERPOWERED)
    assert row.p_raw == pytest.approx(0.1) and row.n_needed == 4


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
        return findings.Runs(gt=gt_table(), sets={"groups": groups}, window=4)

    (wanted,) = [f for f in findings.FINDINGS if f.id == "s422_similar_mean_rises"]
    assert findings.evaluate(runs_with(True), [wanted]).iloc[0].verdict == stats.SUPPORTED
    assert findings.evaluate(runs_with(False), [wanted]).iloc[0].verdict == stats.CONTRADICTED


def seeds_runs(n: int) -> findings.Runs:
    return findings.Runs(
        gt=gt_table(),
        gt_instances=[noisy(100 + s, 1.0) for s in range(3)],
        sets={
            "family": {
                "different_seeds": [
                    pd.concat([instance({1: noisy(s, 0.05)}), instance(dense(s), "dense")])
                    for s in range(n)
                ]
            }
        },
    )


def test_switched_off_experiments_give_no_row_and_the_report_has_no_verdict_count(tmp_path):
    runs = findings.Runs(gt=gt_table())
    table = findings.evaluate(runs)
    assert table.empty and list(table.columns) == findings.COLUMNS
    full, units = findings.evaluate_with_units(seeds_runs(4))
    findings.write_findings(
        full, tmp_path / "f.csv", tmp_path / "f.md", "header line", units, tmp_path / "u.csv"
    )
    text = (tmp_path / "f.md").read_text()
    assert "header line" in text and "obs1_different_seeds" in text and "How to read" in text
    assert "supported," not in text  # no "12 supported, 5 contradicted" headline
    assert pd.read_csv(tmp_path / "f.csv")["id"].tolist() == full["id"].tolist()
    assert set(pd.read_csv(tmp_path / "u.csv")["id"]) == set(full["id"])
    not_run = text.split("## Not run in this study", 1)[1]
    assert "| a_long_similar | A.2.1 / Fig. 7 | experiments.long |" in not_run
    assert "obs1_different_seeds" not in not_run  # it ran: it is in the table above


def test_every_verdict_is_recomputed_from_the_units_file():
    """t-interval, raw and family-adjusted p and verdict from findings_units.csv alone."""
    table, units = findings.evaluate_with_units(seeds_runs(5))
    again = findings.recompute(table, units)
    tested = table.set_index("id").loc[again.index]
    assert len(again) >= 3 and set(tested.family) == {claims.CONFIRMATORY, claims.EXPLORATORY}
    for column in ("ci_low", "ci_high", "p_raw", "p_adj"):
        assert again[column].to_numpy() == pytest.approx(tested[column].to_numpy(), nan_ok=True)
    assert (again.verdict == tested.verdict).all() and (again.reason == tested.reason).all()
    confirmatory = tested[tested.family == claims.CONFIRMATORY]
    assert stats.holm(confirmatory.p_raw.to_numpy()) == pytest.approx(confirmatory.p_adj.to_numpy())


def test_the_claims_file_holds_every_finding_and_nothing_else():
    registered = set(claims.registry().claims)
    assert {f.id for f in findings.FINDINGS} == registered
    for spec in claims.registry().claims.values():
        assert spec.baseline in ("", *findings.BASELINES), spec.id


def test_a_claims_file_with_an_unknown_key_is_refused():
    text = """
alpha: 0.05
power: 0.8
claims:
  x:
    {section: s, quote: q, statistic: s, unit: u, direction: ">", threshold: 0,
     family: exploratory, treshold: 1}
"""
    with pytest.raises(ValueError, match="unknown keys \\['treshold'\\]"):
        claims.parse(text)


def test_prefix_sharing_at_the_super_nets_length_is_not_testable():
    inst = lambda s, k: instance(  # noqa: E731
        {step: noisy(10 * s + step + 100 * k, 0.5) for step in range(1, 5)}, "dense"
    )
    prefix = {(12, k): [inst(s, k) for s in range(3)] for k in (0, 1, 2)}
    runs = findings.Runs(gt=gt_table(), sets={"prefix": prefix}, epochs=12, window=4)
    table = findings.evaluate(runs).set_index("id")
    for fid in ("s43_fewer_shared_cells_tau", "s43_more_epochs_help"):
        assert table.loc[fid, "reason"] == stats.NOT_TESTABLE, fid
        assert pd.isna(table.loc[fid, "p_adj"])
    assert "120" in table.loc["s43_fewer_shared_cells_tau", "note"]  # what it would take


def test_one_long_run_is_descriptive_and_equal_long_runs_support_similarity():
    base = [
        pd.concat([instance({1: noisy(s, 0.5)}), instance(dense(s), "dense")]) for s in range(3)
    ]
    (wanted,) = [f for f in findings.FINDINGS if f.id == "a_long_similar"]
    one = findings.Runs(
        gt=gt_table(), sets={"family": {"different_seeds": base}, "long": {(): base[:1]}}, window=4
    )
    row = findings.evaluate(one, [wanted]).iloc[0]
    assert (row.verdict, row.reason) == (stats.INCONCLUSIVE, stats.DESCRIPTIVE)
    same = findings.Runs(
        gt=gt_table(), sets={"family": {"different_seeds": base}, "long": {(): base}}, window=4
    )
    row = findings.evaluate(same, [wanted]).iloc[0]  # differences exactly 0: within the margin
    assert row.verdict == stats.SUPPORTED and row.effect == 0


def test_an_effect_at_the_threshold_is_compatible_with_both():
    """Finetuning from the later snapshot exactly as good as from the earlier one, on every
    instance: the effect sits at the threshold and no n decides it."""
    (wanted,) = [f for f in findings.FINDINGS if f.id == "a_finetune_later_snapshot"]
    same = [instance({s: noisy(s, 0.5) for s in range(3)}, "finetune") for _ in range(3)]
    runs = findings.Runs(gt=gt_table(), sets={"finetune": {6: same, 12: same}})
    row = findings.evaluate(runs, [wanted]).iloc[0]
    assert (row.verdict, row.reason) == (stats.INCONCLUSIVE, stats.BOTH)
    assert row.effect == 0 and row.n == 3 and pd.isna(row.n_needed)


def dense(seed: int) -> dict[int, pd.Series]:
    return {step: noisy(10 * seed + step, 0.5) for step in range(1, 5)}


def test_every_finding_has_a_unique_id():
    ids = [f.id for f in findings.FINDINGS]
    assert len(ids) == len(set(ids)) >= 18


def test_interference_finding_reads_the_sign_of_the_cosine_against_rank_gains():
    """Telemetry built so that, in every mini-batch, the children with the larger cosine gain
    the more rank, on three instances: supported; with the cosines negated: contradicted."""
    import itertools

    from nas.analysis import reference, tables

    gt = reference.paper_table5()
    children = ["".join(p) for p in itertools.product("1234", repeat=3)]
    columns = ["point_kind", "epoch", "step", "trained_child", "child", "accuracy", "loss"]
    records, telemetries = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        rows = []
        for step in range(1, 13):  # dense points whose ranks move every step
            accs = rng.uniform(0.5, 0.9, len(children))
            rows += [
                ("dense", 1, step, "111", c, a, 0.0) for c, a in zip(children, accs, strict=True)
            ]
        inst = pd.DataFrame(rows, columns=columns)
        ranks = tables.rank_matrix(tables.dense_matrix(inst))
        tele = []
        for step in range(2, 13):
            for child in children[1:9]:
                gain = ranks.at[step - 1, child] - ranks.at[step, child]
                tele.append((step, "111", child, float(gain) / 64 + 0.001 * seed))
        records.append(inst)
        telemetries.append(pd.DataFrame(tele, columns=["step", "trained_child", "child", "cosine"]))
    f = [x for x in findings.FINDINGS if x.id == "x_interference"]
    runs = findings.Runs(gt=gt, sets={"telemetry": {"records": records, "telemetry": telemetries}})
    table = findings.evaluate(runs, f)
    assert table.verdict.item() == "supported" and table.effect.item() == pytest.approx(1.0)
    assert table.n.item() == 3 and table.family.item() == claims.EXPLORATORY
    runs.sets["telemetry"]["telemetry"] = [t.assign(cosine=-t.cosine) for t in telemetries]
    assert findings.evaluate(runs, f).verdict.item() == "contradicted"


def test_an_undefined_unit_is_left_out_and_named():
    """A tau of constant accuracies has no value: it is no unit, and the note says so."""
    values = {"instance0": 0.3, "instance1": float("nan"), "instance2": 0.32, "instance3": 0.31}
    fake = findings.Finding("obs2_has_correlation", lambda runs: findings.Evidence(values), "")
    table, units = findings.evaluate_with_units(findings.Runs(gt=gt_table()), [fake])
    row = table.iloc[0]
    assert row.n == 3 and "instance1" in row.note and "undefined" in row.note
    assert list(units.unit) == ["instance0", "instance2", "instance3"]
    assert row.verdict == stats.SUPPORTED  # 0.31 +- 0.01 over 3 units is far above 0


def test_findings_build_no_claim_of_their_own():
    """Every threshold comes from the claims file: the findings module constructs no Claim."""
    source = Path(findings.__file__).read_text()
    assert "Claim(" not in source and "VARIES" not in source and "NO_RAISE" not in source
