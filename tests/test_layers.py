"""The folders of `nas` are its layers; imports only go down, and torch stays in three.

    core      what a run is: search space, run config, study config, sharing, records
    model     the network and its evaluation engines                      (torch)
    run       data, the training driver, checkpoints, run folders          (torch)
    measure   finetuning, recalibration, interference, benchmarks          (torch)
    analysis  metrics, statistics, tables, findings, figures
    study     the plan of jobs, their cost, the catalog of products
    cluster   SLURM checks and submission
    nas.cli   the command line, on top of everything

`snakemake -n`, `nas plan` and every product job import core, analysis and study only, so
they start without torch. A module's imports are read from its source (annotation-only
imports under TYPE_CHECKING aside); the torch check imports the modules in a fresh
interpreter and names the first that pulls torch in.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nas.core import config
from nas.model import evaluate, ops
from tests.conftest import ROOT

ALLOWED = {  # a layer may import these layers (and itself)
    "core": {"core"},
    "model": {"core", "model"},
    "run": {"core", "model", "run"},
    "measure": {"core", "model", "run", "measure"},
    "analysis": {"core", "analysis"},
    "study": {"core", "analysis", "study"},
    "cluster": {"core", "run", "cluster"},
}
TORCH_LAYERS = {"model", "run", "measure"}
PROBE = """
import importlib, json, sys
leaks = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "torch" in sys.modules:
        leaks[name] = sorted(m for m in sys.modules if m.split(".")[:2][-1] in TORCH)
        break
print(json.dumps(leaks))
"""


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _layer_modules() -> list[Path]:
    return sorted(p for layer in ALLOWED for p in (ROOT / "nas" / layer).rglob("*.py"))


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def _imported_layers(path: Path) -> set[str]:
    """The nas layers a module imports at run time (top level or inside functions)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    layers = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "nas" and len(parts) > 1 and parts[1] in ALLOWED:
                layers.add(parts[1])
    return layers


def test_every_module_lives_in_a_layer():
    loose = sorted(p.name for p in (ROOT / "nas").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "cli.py"], loose
    folders = sorted(
        p.name for p in (ROOT / "nas").iterdir() if p.is_dir() and p.name != "__pycache__"
    )
    assert folders == sorted(ALLOWED), folders


@pytest.mark.parametrize("path", _layer_modules(), ids=lambda p: _module(p))
def test_imports_only_go_down(path):
    layer = path.relative_to(ROOT / "nas").parts[0]
    upward = _imported_layers(path) - ALLOWED[layer]
    assert not upward, f"{_module(path)} ({layer}) imports {sorted(upward)}"


def test_core_analysis_study_and_cli_import_without_torch():
    free = [
        _module(p)
        for p in _layer_modules()
        if p.relative_to(ROOT / "nas").parts[0] not in TORCH_LAYERS
    ]
    code = f"TORCH = {sorted(TORCH_LAYERS)!r}\n{PROBE}"
    out = subprocess.run(
        [sys.executable, "-c", code, *free, "nas.cli"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == {}, out.stdout


def test_no_import_cycle():
    """Module-level imports between nas modules form no cycle."""
    graph: dict[str, set[str]] = {}
    for path in [*_layer_modules(), ROOT / "nas" / "cli.py"]:
        tree = ast.parse(path.read_text())
        deps = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nas"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
        graph[_module(path)] = deps
    graph = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            assert state.get(d) != 1, " -> ".join([*trail, m, d])
            if d not in state:
                visit(d, [*trail, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_the_config_names_the_engines_evaluate_implements():
    assert tuple(evaluate.ENGINES) == config.ENGINES


def test_each_search_space_names_the_ops_and_skeleton_the_model_builds():
    from nas.core.spaces import SPACES
    from nas.model.skeletons import SKELETONS

    assert set(ops.OPS_OF_SPACE) == set(SPACES)
    for name, space in SPACES.items():
        assert tuple(ops.OPS_OF_SPACE[name]) == space.known_ops, name
        assert space.skeleton in SKELETONS, name
