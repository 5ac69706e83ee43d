"""The README's main command, verbatim, in a fresh virtual environment of a copy of the repo.

CI's own environment has the test extras (and whatever earlier sessions installed), which once
hid that `snakemake --report` needs pygments. Here only what the README's install line brings
is there: its `pip install` part runs verbatim in a new venv, then its two snakemake commands
run verbatim with the reduced study of tests/data/tiny.yaml layered on top (the full scale
model takes most of an hour), so the report step is exercised with exactly those packages.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, copy_repo

REDUCED = " --configfile config/quick.yaml tests/data/tiny.yaml"


def readme_main_command() -> str:
    """The line of the README's 'Two commands' section that installs and runs the study."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("pip install")]
    assert len(lines) == 1, f"want one install-and-run line in 'Two commands', got {lines}"
    return lines[0]


def test_readme_main_command_installs_runs_and_reports():
    command = readme_main_command()
    install, *runs = command.split(" && snakemake ")
    assert install.startswith("pip install ") and "pip install -e ." in install
    assert runs == [
        "--profile profiles/local",
        "--profile profiles/local --report results/report.html",
    ]


@pytest.mark.slow
def test_readme_main_command_works_in_a_fresh_venv(tmp_path):
    repo = copy_repo(tmp_path / "clone")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    install, *runs = readme_main_command().split(" && snakemake ")
    reduced = " && ".join(f"snakemake {run}{REDUCED}" for run in runs)
    for step in (install, reduced):
        out = subprocess.run(
            ["bash", "-c", step], cwd=repo, env=env, capture_output=True, text=True, timeout=1500
        )
        assert out.returncode == 0, f"{step}\n{(out.stdout + out.stderr)[-4000:]}"
    # the venv's own snakemake and nas were installed (and so ran first on PATH)
    for tool in ("snakemake", "nas"):
        assert (venv / "bin" / tool).read_text().startswith(f"#!{venv}")
    report = repo / "results" / "report.html"
    assert report.stat().st_size > 10000
    assert "findings" in report.read_text(errors="replace").lower()
    assert (repo / "results" / "findings.md").read_text().startswith("# Findings")
