"""The product registry: each table, figure and section defined once, with its runs (from the
Study), its switch, its builder and its caption."""

from __future__ import annotations

import copy
from pathlib import Path

import docutils.core
import pytest
import yaml

from nas.analysis import products
from nas.core.records import COLUMNS
from nas.core.runset import RunSet
from nas.study import catalog
from nas.study.plan import Study
from tests.test_figures import instance

ROOT = Path(__file__).resolve().parents[1]
FULL = yaml.safe_load((ROOT / "config/config.yaml").read_text())
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
SWITCHES = sorted({s for p in catalog.PRODUCTS for s in p.needs})


def _config(**experiments) -> dict:
    config = copy.deepcopy(FULL)
    for name, value in experiments.items():
        config["experiments"][name] = value
    return config


def _names(config: dict) -> set[tuple[str, str]]:
    return {(p.kind, p.name) for p in catalog.enabled(Study(config))}


def test_each_product_is_one_entry_with_a_caption_and_outputs_of_its_kind():
    keys = [(p.kind, p.name) for p in catalog.PRODUCTS]
    assert len(keys) == len(set(keys))
    tables = {n for k, n in keys if k == "table"}
    figures = {n for k, n in keys if k == "figure"}
    assert tables == {f"table{n}" for n in ("1", "2", "3a", "3b", "4", "5")} | {
        "aggregation",
        "intext",
        "recalibration",
        "prefix_curve",
        "strategies",
        "tradeoff",
    }
    assert figures == {f"figure{n}" for n in range(2, 10)} | {
        "prefix_curve",
        "interference",
        "interference_partition",
        "tradeoff",
    }
    assert catalog.lookup("section", "findings").outputs() == ["findings.csv", "findings.md"]
    assert catalog.lookup("table", "table3b").outputs() == [
        "tables/table3b.csv",
        "tables/table3b.md",
        "tables/table3b.tex",
    ]
    assert catalog.lookup("figure", "prefix_curve").outputs() == [
        "figures/prefix_curve.png",
        "figures/prefix_curve.pdf",
    ]
    with pytest.raises(ValueError, match="known: table1"):
        catalog.lookup("table", "table9")


@pytest.mark.parametrize("product", catalog.PRODUCTS, ids=lambda p: f"{p.kind}-{p.name}")
def test_a_caption_renders_in_the_report_without_warnings(product):
    """The report renders each caption as reStructuredText (workflow/report/product.rst)."""
    assert len(product.caption) > 40
    docutils.core.publish_doctree(  # a warning or error raises here
        product.report_caption(), settings_overrides={"report_level": 2, "halt_level": 2}
    )


def test_every_switch_is_an_experiment_of_the_schema():
    assert set(SWITCHES) <= set(SCHEMA["properties"]["experiments"]["properties"])


# the full study with one extra sharing strategy and the telemetry (the paper's has neither)
WITH_EXTRA = _config(
    strategies=[{"name": "prefix1", "sharing": "prefix", "set": {"k": 1}}],
    telemetry={"enabled": True, "children": 8},
)


def test_the_full_study_makes_every_product():
    assert len(catalog.enabled(Study(WITH_EXTRA))) == len(catalog.PRODUCTS)
    extra = {("table", "strategies"), ("figure", "interference")}  # off in the paper's config
    assert _names(WITH_EXTRA) - _names(FULL) == extra


@pytest.mark.parametrize("switch", [s for s in SWITCHES if s != "ground_truth"])
def test_turning_an_experiment_off_removes_its_products(switch):
    value = WITH_EXTRA["experiments"][switch]
    if isinstance(value, dict):
        off = {**value, "enabled": False}
    else:
        off = [] if isinstance(value, list) else False
    config = copy.deepcopy(WITH_EXTRA)
    config["experiments"][switch] = off
    gone = _names(WITH_EXTRA) - _names(config)
    assert gone == {(p.kind, p.name) for p in catalog.PRODUCTS if switch in p.needs}


def test_the_papers_ground_truth_removes_table5_only():
    config = {**copy.deepcopy(FULL), "ground_truth": "paper"}
    assert _names(FULL) - _names(config) == {("table", "table5")}
    runs = catalog.lookup("table", "table1").runs(Study(config))
    assert runs["ground_truth"] == []  # Tables 1-2 then compare with the paper's Table 5


def test_every_input_is_a_jobs_records_or_a_finetuning_output():
    """A product reads only runs the Study trains (or the finetuning's and the BN
    recalibration's outputs, of runs it trains, and measured partitions of groupings it
    trains), and reading them adds no job."""
    study = Study(FULL)
    jobs = set(study.all_jobs())
    members = set(study.member_of)
    measured = study.measured_groupings()
    for product in catalog.enabled(study):
        runs = product.runs(study)
        assert runs and all(runs.values()) or product.name in ("table1", "table2", "figure2")
        for label, insts in runs.items():
            for files in insts:
                assert files, (product.name, label)
                for f in files:
                    run = f.removeprefix("runs/").removesuffix("/records.csv")
                    recalibrated = f.removeprefix("recalibration/").removesuffix(".csv")
                    assert (
                        run in jobs
                        or run in members
                        or f.startswith("finetune/")
                        or recalibrated in study.seed_instances()
                        or f.split("/")[:2] in [["interference", g] for g in measured]
                    ), f
    assert set(study.jobs) == jobs


def test_figure9_reads_every_sgd_momentum_and_the_baseline():
    config = _config(sgd_momentum={"enabled": True, "values": [0.0, 0.5]})
    study = Study(config)
    runs = catalog.lookup("figure", "figure9").runs(study)
    assert list(catalog.labelled(runs)) == ["baseline", "sgd:0.0", "sgd:0.5"]
    assert runs["baseline"] == catalog.each(catalog.family(study, "different_seeds")[:1])
    [first, *_] = catalog.instances(study, "sgd_momentum")[(0.5,)]
    assert runs[RunSet("sgd", (("value", 0.5),))] == [catalog.records(first)]
    no_seeds = Study(_config(different_seeds=False))
    assert list(catalog.labelled(catalog.lookup("figure", "figure9").runs(no_seeds))) == ["sgd:0.0"]


def _write(df, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    df[COLUMNS].to_csv(path, index=False, lineterminator="\n")
    return str(path)


def test_building_figure9_draws_the_baseline_first(tmp_path, monkeypatch):
    gt = tmp_path / "gt.csv"
    products.write_ground_truth([], "paper", gt)
    files = {
        f"sgd:{v}": [[_write(instance(i), tmp_path / f"m{v}/records.csv")]]
        for i, v in enumerate((0.0, 0.5))
    }
    files["baseline"] = [[_write(instance(7), tmp_path / "base/records.csv")]]
    config = _config(sgd_momentum={"enabled": True, "values": [0.0, 0.5]})
    drawn = {}
    monkeypatch.setattr(
        products.figures, "figure9", lambda panels, g, stem: drawn.update(panels=panels)
    )
    catalog.build(catalog.lookup("figure", "figure9"), files, gt, tmp_path / "f9", config)
    assert list(drawn["panels"]) == ["0.9 (baseline)", "0.0", "0.5"]
