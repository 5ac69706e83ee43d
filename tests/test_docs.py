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
