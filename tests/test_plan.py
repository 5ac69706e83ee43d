"""The study plan: job counts follow the README's formula; identical runs are one job."""

import copy
from pathlib import Path

import pytest
import yaml

from nas.core.config import ConfigError
from nas.core.studyconfig import with_defaults
from nas.study.cost import Cost
from nas.study.experiments import EXPERIMENTS
from nas.study.plan import Study

ROOT = Path(__file__).resolve().parents[1]
FULL = yaml.safe_load((ROOT / "config/config.yaml").read_text())


def _family(study, name):
    return EXPERIMENTS[name].paths(study)


def _of(study, name):
    return EXPERIMENTS[name].instances(study)


def _rows(config):
    return {r["experiment"]: r for r in Cost(Study(config)).summary()}


def test_full_config_counts_match_the_readme_formula():
    rows = _rows(FULL)
    n, gpj, spj = FULL["instances"], FULL["groups_per_job"], FULL["seeds_per_job"]
    assert spj == n == 10  # the 10 seeds of a group job are one packed job
    assert rows["different_seeds"]["jobs"] == n
    assert rows["ground_truth"]["trainings"] == 64 * 10 and rows["ground_truth"]["jobs"] == 8
    for m in (2, 4, 8, 16, 32):
        assert rows[f"groups_random_m{m}"]["jobs"] == -(-m // gpj)
        assert rows[f"groups_similar_m{m}"]["trainings"] == n * m
    assert rows["prefix_e2000_k3"]["jobs"] == n
    # unique jobs: 3 families + GT + groups (m = 1 and 64 reuse runs) + prefix + long + bn + sgd
    # (the long and SGD-momentum runs: one per seed, paired with the "different seeds" ones)
    groups = 2 * sum(-(-m // gpj) for m in (2, 4, 8, 16, 32))
    expected = 3 * n + 8 + groups + 5 * 2 * n + n + 2 * 3 + n
    # beyond the paper: 2 measured groupings, 2 warm-started, 1 at equal compute, m = 2..32
    expected += 5 * groups // 2
    assert rows["total (unique jobs)"]["jobs"] == expected == 227
    assert rows["long"]["jobs"] == rows["sgd_momentum"]["jobs"] == n


def test_m1_reuses_the_seed_instances_and_m64_the_ground_truth():
    study = Study(FULL)
    assert study.group_instance("random", 1, 3) == _family(study, "different_seeds")[3:4]
    assert study.group_instance("similar", 64, 2) == study.alone_instance(2)


def test_a_longer_ground_truth_is_its_own_reference_and_m64_trains_apart():
    """experiments.ground_truth.epochs set apart from run.epochs: the children alone train for
    those epochs and are evaluated once, and Table 3a's m = 64 row no longer reuses them."""
    config = copy.deepcopy(FULL)
    config["experiments"]["ground_truth"]["epochs"] = 300
    study = Study(config)
    gt = study.alone_instance(2)
    assert gt[0].startswith("alone/e300/")
    job = study.jobs[study.member_of[gt[0]]]
    assert job.overrides["epochs"] == 300 and job.overrides["eval_epochs"] == "last"
    assert job.overrides["dense_last"] == 0
    m64 = study.group_instance("similar", 64, 2)
    assert m64[0].startswith("groups/e200/similar64/") and set(m64).isdisjoint(gt)
    study.validate()
    rows = _rows(config)
    assert rows["ground_truth"]["gpu_hours"] > _rows(FULL)["ground_truth"]["gpu_hours"]


def test_packing_changes_the_job_count_not_the_trainings():
    one = copy.deepcopy(FULL)
    one["groups_per_job"] = one["seeds_per_job"] = 1
    packed, single = _rows(FULL), _rows(one)
    assert single["ground_truth"]["jobs"] == 640 and packed["ground_truth"]["jobs"] == 8
    assert single["ground_truth"]["trainings"] == packed["ground_truth"]["trainings"]


@pytest.mark.parametrize(
    "path, value, key",
    [
        (("experiments", "groups", "m"), [1, 3], "'m'"),
        (("experiments", "prefix", "k"), [7], "'k'"),
        (("run", "epochs"), 0, "'epochs'"),
        (("run", "dense_last"), 100000, "'dense_last'"),
        (("dataset",), "imagenet", "'dataset'"),
    ],
)
def test_invalid_study_configs_name_the_key(path, value, key):
    config = copy.deepcopy(FULL)
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=key):
        Study(config).validate()


def test_seed_packing_puts_the_seeds_of_a_group_job_into_one_job():
    packed = copy.deepcopy(FULL)
    packed["seeds_per_job"] = 4
    study = Study(packed)
    rows = {r["experiment"]: r for r in Cost(study).summary()}
    # seeds 0-3, 4-7, 8-9 per group chunk: 3 jobs where there were 10
    assert rows["ground_truth"]["jobs"] == 3 * 8 and rows["ground_truth"]["trainings"] == 640
    assert rows["groups_random_m16"]["jobs"] == 3 * 2
    runs = study.group_instance("random", 16, 9)
    assert runs == [f"groups/e200/random16/seeds8-9/g{g}/init9" for g in ("0-7", "8-15")]
    job = study.jobs[study.member_of[runs[0]]]
    assert job.seeds == "8-9" and job.groups == "0-7" and "init_seed" not in job.overrides
    assert job.members() == {8: runs[0].replace("init9", "init8"), 9: runs[0]}
    # the share-all runs are never seed-packed
    assert study.group_instance("random", 1, 3) == _family(study, "different_seeds")[3:4]


def test_seed_packs_hold_only_the_seeds_some_experiment_needs():
    paper_gt = copy.deepcopy(FULL)
    paper_gt["ground_truth"] = "paper"
    paper_gt["instances"] = 3  # m = 64 of Table 3a needs seeds 0-2 only
    study = Study(paper_gt)
    assert study.group_instance("similar", 64, 2)[0] == "alone/e200/seeds0-2/g0-7/init2"


def test_the_finetuning_sources_alone_evaluate_the_mini_batches_before_their_snapshots():
    """Every "different seeds" instance is a finetuning source (the unit is the instance);
    no other share-all run pays for the snapshot points."""
    study = Study(FULL)
    study.all_jobs()
    assert study.seed_instances() == _family(study, "different_seeds")
    source = study.jobs[study.reference_run()]
    assert source.overrides["snapshot_dense"] == 64 and source.overrides["snapshot_epochs"] == [
        100,
        200,
    ]
    assert all(study.jobs[p].overrides["snapshot_dense"] == 64 for p in study.seed_instances())
    other = study.jobs[_family(study, "different_orders")[0]]
    assert "snapshot_dense" not in other.overrides
    # its cost: 64 more evaluations of 64 children on 10000 images before epoch 100; those
    # before epoch 200 lie in the end-of-run window (128 mini-batches), evaluated anyway
    cost = Cost(study)
    n_val = cost.sizes[1]
    (t_src, e_src), (t_other, e_other) = (cost.job_parts(j) for j in (source, other))
    tp = FULL["throughput"]
    extra = 64 * n_val * 64 / tp["eval_child_images_per_s"] / 3600
    assert t_src == t_other and e_src - e_other == pytest.approx(extra)
    sources = _rows(FULL)["finetune_sources"]
    assert sources["jobs"] == 10 and sources["eval_gpu_hours"] == pytest.approx(
        10 * e_src, abs=0.01
    )


def test_prefix_runs_evaluate_every_eval_every_epochs_and_the_plan_counts_them():
    study = Study(FULL)
    long, short = study.prefix(2000, 0, 0), study.prefix(200, 0, 0)
    assert study.jobs[long].overrides["eval_epochs"] == list(range(100, 2001, 100))
    assert study.jobs[short].overrides["eval_epochs"] == [100, 200]
    last_only = copy.deepcopy(FULL)
    last_only["experiments"]["prefix"]["eval_every"] = 0
    assert Study(last_only).prefix_eval_epochs(2000) == "last"
    every, once = _rows(FULL)["prefix_e2000_k0"], _rows(last_only)["prefix_e2000_k0"]
    n_val = Study(FULL).sizes()[1]
    extra = 10 * 19 * n_val * 64 / FULL["throughput"]["eval_child_images_per_s"] / 3600
    assert every["eval_gpu_hours"] - once["eval_gpu_hours"] == pytest.approx(extra, abs=0.02)


def test_the_study_plans_once_and_queries_register_nothing():
    """Jobs are planned when the Study is made; asking for instances afterwards answers
    from that plan, and asking for a run outside it is an error, not a new job."""
    study = Study(FULL)
    before = dict(study.jobs)
    for name in ("groups", "prefix", "ground_truth", "bn_momentum"):
        EXPERIMENTS[name].instances(study)
    Cost(study).summary()
    assert study.jobs == before and study.all_jobs() is study.jobs
    off = copy.deepcopy(FULL)
    off["experiments"]["long"]["enabled"] = False
    with pytest.raises(KeyError, match="not in this study's plan"):
        EXPERIMENTS["long"].runs(Study(off))


def test_telemetry_goes_on_every_seeds_instance_and_asks_at_most_the_other_children():
    config = copy.deepcopy(FULL)
    config["experiments"]["telemetry"] = {"enabled": True, "children": 8}
    study = Study(with_defaults(config))
    first = _family(study, "different_seeds")[0]
    assert study.reference_run() == first  # the figure's
    telemetry = [p for [p] in _of(study, "telemetry")[()]]
    assert telemetry == _family(study, "different_seeds")
    assert EXPERIMENTS["telemetry"].enabled(study)
    for path, job in study.jobs.items():
        wanted = 8 if path in telemetry else None
        assert job.overrides.get("telemetry_children") == wanted, path
    config["run"]["n_nodes"] = 1  # 4 children: 3 others at most
    assert Study(with_defaults(config)).jobs[first].overrides["telemetry_children"] == 3
    assert not EXPERIMENTS["telemetry"].enabled(Study(with_defaults(FULL)))  # off: the paper


def test_sharing_experiments_beyond_the_paper_read_their_inputs_and_cost_less():
    """Measured groupings read their partition file, warm starts each seed's share-all
    snapshot and begin at its epoch, equal-compute groups train 1/m of each epoch; the plan
    prices a warm start at the remaining epochs and equal compute at about share-all."""
    study = Study(FULL)
    jobs = study.all_jobs()
    [corr] = study.job_paths(_of(study, "groups")[("correlation", 8)])
    assert jobs[corr].partition == "interference/correlation/m8.csv"
    assert jobs[corr].overrides["grouping"] == "correlation"
    [warm] = study.job_paths(_of(study, "warm_start")[("similar", 8)])
    assert jobs[warm].overrides["warm_epoch"] == 100 and not jobs[warm].partition
    assert jobs[warm].snapshots == tuple(
        f"snapshots/share/e200/fixed/base/init{s}_ord0/epoch100.pt" for s in range(10)
    )
    assert "{seed}" in jobs[warm].overrides["warm_start"]
    [equal] = study.job_paths(_of(study, "equal_compute")[("similar", 8)])
    assert jobs[equal].overrides["step_share"] == 8 and "/steps25/" in equal  # ceil(196 / 8)
    model = Cost(study)
    cost = {p: model.job_parts(jobs[p])[0] for p in (corr, warm, equal)}
    [share] = _family(study, "different_seeds")[:1]
    share_train = model.job_parts(jobs[share])[0]
    assert cost[warm] == pytest.approx(cost[corr] / 2)  # 100 of 200 epochs
    assert cost[equal] == pytest.approx(10 * share_train * 8 * 25 / 196)  # 10 packed seeds
    rows = _rows(FULL)
    assert {"groups_gradient_m32", "warm_start_correlation_m2", "equal_compute_similar_m16"} <= set(
        rows
    )


def test_measured_groupings_need_points_before_the_snapshot():
    config = copy.deepcopy(FULL)
    config["experiments"]["finetune"]["before"] = 2
    with pytest.raises(ConfigError, match="experiments.interference: the correlation grouping"):
        Study(config).validate()
    config["experiments"]["interference"]["grouping"] = ["gradient"]
    config["experiments"]["warm_start"]["grouping"] = ["similar"]
    Study(config).validate()  # the gradient reads the snapshot only


def test_a_warm_start_or_interference_epoch_outside_the_run_is_refused():
    config = copy.deepcopy(FULL)
    config["experiments"]["warm_start"]["epoch"] = 200
    with pytest.raises(ConfigError, match="experiments.warm_start.epoch"):
        Study(config)


def test_a_measured_grouping_into_singletons_is_the_similar_one():
    config = copy.deepcopy(FULL)
    config["experiments"]["interference"]["m"] = [64]
    study = Study(config)
    assert _of(study, "groups")[("gradient", 64)] == _of(study, "groups")[("similar", 64)]
    assert study.partition_m("gradient") == []  # no file: interference.m is all children
    assert study.partition_m("correlation") == [2, 4, 8, 16, 32]  # the warm starts'
    config["experiments"]["warm_start"]["grouping"] = ["similar"]
    with pytest.raises(ConfigError, match="nothing to measure"):
        Study(config).validate()


def test_runs_that_start_a_chain_are_scheduled_as_long_as_the_chain():
    """A share-all instance whose snapshot warm starts read (and the first, whose records
    the measured groupings read) counts the longest job waiting for it; others none."""
    study = Study(FULL)
    first, second = _family(study, "different_seeds")[:2]

    model = Cost(study)
    cost = model.job_hours

    warm = [j for j in study.jobs.values() if j.kind == "warm"]
    measured = [j for j in study.jobs.values() if j.partition]
    assert len(warm) == 18 and len(measured) == 18 + 9  # measured groups, warm correlation
    assert model.downstream_hours(second) == pytest.approx(max(map(cost, warm)))
    assert model.downstream_hours(first) == pytest.approx(max(map(cost, warm + measured)))
    assert model.downstream_hours(first) > model.downstream_hours(second)  # cold groups: longer
    assert model.downstream_hours(_family(study, "different_orders")[0]) == 0.0
