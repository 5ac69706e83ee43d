"""The products' captions and notes, kept as text in captions.yaml (package data) beside
each other, not glued together in code. A caption may insert a shared fragment as `{name}`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CAPTIONS_FILE = Path(__file__).with_name("captions.yaml")


@cache
def _captions() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(CAPTIONS_FILE.read_text())
    fragments = data["fragments"]
    return {
        key: {part: text.format_map(fragments) for part, text in entry.items()}
        for key, entry in data["products"].items()
    }


def caption(kind: str, name: str) -> str:
    """A product's caption (a table's is also its .md and .tex caption)."""
    return _entry(kind, name)["caption"]


def notes(kind: str, name: str) -> str:
    """What the report shows after the caption ("" for none)."""
    return _entry(kind, name).get("notes", "")


def _entry(kind: str, name: str) -> dict[str, str]:
    key = f"{kind}/{name}"
    if key not in _captions():
        raise KeyError(f"{CAPTIONS_FILE.name} has no caption for {key}")
    return _captions()[key]
