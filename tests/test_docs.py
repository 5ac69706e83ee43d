"""The README is a user's guide and the docs hold the rest: short, linked, and about this repo.

Every link between the docs resolves; no doc names a file outside the repository (a reader
cannot open a session's temporary folder); the README's results block is the generated one.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT

DOCS = sorted(
    ROOT / p
    for p in subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
)
OUTSIDE = re.compile(r"(?<![\w.])(/tmp/|/work/|/root/|/home/|\.\./shared)")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_a_guide_of_at_most_250_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, len(lines)
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[:2] == ["## Results at a glance", "## Two commands"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_names_a_file_outside_the_repository(doc):
    hits = [line for line in doc.read_text().splitlines() if OUTSIDE.search(line)]
    assert not hits, hits


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    targets = [t for t in LINK.findall(doc.read_text()) if "://" not in t]
    missing = [t for t in targets if not (doc.parent / t).exists()]
    assert not missing, missing


def test_the_readme_results_block_is_replaced_by_its_generator(tmp_path):
    """benchmarks/readme_results.py writes between the markers and leaves the rest alone."""
    from benchmarks import readme_results

    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    assert text.count(readme_results.START) == 1 and text.count(readme_results.END) == 1
    readme.write_text(text)
    new = f"{readme_results.START}\nmade\n{readme_results.END}"
    readme_results.write(readme, new)
    head, tail = text.split(readme_results.START)[0], text.split(readme_results.END)[1]
    assert readme.read_text() == head + new + tail


def test_every_schema_property_is_described():
    from nas.core import studyconfig

    missing = []

    def walk(node: dict, path: str) -> None:
        for key, sub in (node.get("properties") or {}).items():
            if not str(sub.get("description", "")).strip():
                missing.append(f"{path}{key}")
            walk(sub, f"{path}{key}.")
            if isinstance(sub.get("items"), dict):
                walk(sub["items"], f"{path}{key}[].")

    walk(studyconfig.schema(), "")
    assert not missing, missing


def test_the_config_reference_is_generated_from_the_schema():
    from nas.core import studyconfig

    assert (ROOT / "docs/config.md").read_text() == studyconfig.reference_markdown()


def test_the_schema_run_block_names_run_config_keys_with_their_choices():
    """The schema's `run:` keys are RunConfig's, and their choices the config's own."""
    import dataclasses

    from nas.core import config, datasets, studyconfig

    run = studyconfig.schema()["properties"]["run"]["properties"]
    assert set(run) <= {f.name for f in dataclasses.fields(config.RunConfig)}
    assert tuple(run["dataset"]["enum"]) == datasets.DATASETS
    assert sorted(run["eval_engine"]["enum"]) == sorted(["auto", *config.ENGINES])
    assert tuple(run["search_space"]["enum"]) == tuple(config.SPACES)
    assert tuple(studyconfig.schema()["properties"]["dataset"]["enum"]) == datasets.DATASETS


def test_the_schema_run_bounds_are_the_run_configs():
    """Each bound the schema's `run:` block states, RunConfig's own check states too: a value
    just outside is refused by nas.core.config.validate, the bound itself (if inclusive) is
    taken. So the schema cannot promise what a job would refuse, or the other way round."""
    from nas.core import config, studyconfig

    run = studyconfig.schema()["properties"]["run"]["properties"]
    step = {"integer": 1, "number": 1e-9}
    checked = 0
    for key, spec in run.items():
        if spec.get("type") not in step:
            continue
        eps = step[spec["type"]]
        for bound, outside, inclusive in [
            ("minimum", -eps, True),
            ("exclusiveMinimum", 0, False),
            ("maximum", eps, True),
            ("exclusiveMaximum", 0, False),
        ]:
            if bound not in spec:
                continue
            edge = spec[bound]
            bad = edge + outside if inclusive else edge
            with pytest.raises(config.ConfigError, match=key):
                config.from_dict({key: bad})
            if inclusive:
                config.from_dict({key: edge})
            checked += 1
    assert checked >= 7


def test_the_findings_table_puts_runs_side_by_side(tmp_path, capsys):
    """benchmarks/findings_table.py: one column per run, a blank where a run lacks a finding."""
    from benchmarks import findings_table

    cols = "id,verdict,reason,effect,ci_low,ci_high,p_adj,n,n_needed\n"
    (tmp_path / "a.csv").write_text(
        cols + "f1,supported,p_adj < alpha,0.25,0.12,0.39,0.01,9,3\n"
        "f2,inconclusive,underpowered,-0.3,,,0.5,3,4\n"
    )
    (tmp_path / "b.csv").write_text(cols + "f1,inconclusive,underpowered,0.13,0.02,0.24,0.2,9,12\n")
    findings_table.main([f"small={tmp_path / 'a.csv'}", f"large={tmp_path / 'b.csv'}"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "| finding | small: verdict (reason), effect [95 %] "
        "| large: verdict (reason), effect [95 %] |"
    )
    assert lines[2] == (
        "| f1 | supported (p_adj < alpha): 0.250 [0.120, 0.390] "
        "| inconclusive (underpowered): 0.130 [0.020, 0.240] |"
    )
    assert lines[3] == "| f2 | inconclusive (underpowered): -0.300 |  |"
    findings_table.main([str(tmp_path / "b.csv")])
    assert "| f1 | inconclusive (underpowered) | 0.130 | [0.020, 0.240] | 0.2 | 9 | 12 |" in (
        capsys.readouterr().out
    )
