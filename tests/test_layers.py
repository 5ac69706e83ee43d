"""Planning, tables, figures and findings never import torch.

`snakemake -n`, every product job and `nas plan` import the study, analysis and core modules;
torch takes seconds to import and is the GPU machinery they do not use. Only the modules that
build, train or measure a network (TORCH_MODULES) may import it; a new module is torch-free
unless it is added there.
"""

from __future__ import annotations

import json
import subprocess
import sys

from nas import config, evaluate
from tests.conftest import ROOT

TORCH_MODULES = {
    "nas.bench",
    "nas.bnstate",
    "nas.checkpoint",
    "nas.data",
    "nas.engine_batched",
    "nas.engine_memo",
    "nas.evaluate",
    "nas.finetune",
    "nas.interference",
    "nas.opcount",
    "nas.ops",
    "nas.packed",
    "nas.recalibrate",
    "nas.supernet",
    "nas.telemetry",
    "nas.train",
}
PROBE = """
import importlib, json, sys
leaks = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "torch" in sys.modules:
        leaks[name] = sorted(m for m in sys.modules if m.startswith("nas.") and m in TORCH)
        break
print(json.dumps(leaks))
"""


def _modules() -> list[str]:
    paths = sorted((ROOT / "nas").rglob("*.py"))
    names = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in paths]
    return [n.removesuffix(".__init__") for n in names if not n.endswith("__main__")]


def test_the_torch_modules_exist():
    assert TORCH_MODULES <= set(_modules())


def test_every_other_module_imports_without_torch():
    """One fresh interpreter imports the torch-free modules one by one and stops at the first
    that brings torch in, naming it and the torch modules it pulled."""
    free = [m for m in _modules() if m not in TORCH_MODULES]
    code = f"TORCH = {sorted(TORCH_MODULES)!r}\n{PROBE}"
    out = subprocess.run(
        [sys.executable, "-c", code, *free], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {}, out.stdout


def test_the_config_names_the_engines_evaluate_implements():
    assert tuple(evaluate.ENGINES) == config.ENGINES
