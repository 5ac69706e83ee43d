"""Style gates the project promises: ruff, snakefmt and Snakemake's linter are clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    out = _run(
        sys.executable, "-m", "ruff", "check", "nas", "tests", "workflow/scripts", "benchmarks"
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_clean():
    out = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_snakefmt_is_clean():
    out = _run("snakefmt", "--check", "Snakefile", "workflow/rules")
    assert out.returncode == 0, out.stdout + out.stderr


def test_snakemake_lint_is_clean():
    out = _run("snakemake", "--lint", "--configfile", "config/quick.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
