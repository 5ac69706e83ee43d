"""The pre-registered claims (nas/analysis/reference/claims.yaml): what each finding tests, against
which threshold, on which unit, in which family. Nothing else in the code holds a threshold,
so a reader checks a verdict against one committed file and its log of deviations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from nas.analysis import stats

CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"
TESTS = ("t", "pair-permutation")
_REQUIRED = ("section", "quote", "statistic", "unit", "direction", "threshold", "family")
_OPTIONAL = ("margin", "margin_source", "baseline", "test", "min_epoch_ratio", "min_largest_m")


@dataclass(frozen=True)
class ClaimSpec:
    """One finding's registered claim."""

    id: str
    section: str
    quote: str
    statistic: str
    unit: str
    direction: str
    threshold: float
    family: str
    margin: float = 0.0
    margin_source: str = ""
    baseline: str = ""  # a baseline the run computes, subtracted from every unit's value
    test: str = "t"
    min_epoch_ratio: float = 0.0  # the training-length ratio the claim needs (0: any)
    min_largest_m: int = 0  # the largest group count m the claim needs (0: any)

    def claim(self) -> stats.Claim:
        return stats.Claim(self.direction, self.threshold, self.margin)


@dataclass(frozen=True)
class Registry:
    alpha: float
    power: float
    claims: dict[str, ClaimSpec]
    deviations: list[dict[str, Any]]


def _spec(cid: str, entry: dict[str, Any]) -> ClaimSpec:
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    missing = [k for k in _REQUIRED if k not in entry]
    if unknown or missing:
        raise ValueError(f"claims.yaml, claim {cid}: unknown keys {unknown}, missing {missing}")
    spec = ClaimSpec(id=cid, **{k: entry[k] for k in (*_REQUIRED, *_OPTIONAL) if k in entry})
    if spec.family not in (CONFIRMATORY, EXPLORATORY):
        raise ValueError(f"claims.yaml, claim {cid}: family {spec.family!r}")
    if spec.test not in TESTS:
        raise ValueError(f"claims.yaml, claim {cid}: test {spec.test!r}, known {TESTS}")
    spec.claim()  # checks direction and margin
    return spec


def parse(text: str) -> Registry:
    """A registry from the claims file's text (checked: every claim complete and known)."""
    raw = yaml.safe_load(text)
    claims = {cid: _spec(cid, entry) for cid, entry in raw["claims"].items()}
    return Registry(float(raw["alpha"]), float(raw["power"]), claims, raw.get("deviations", []))


@cache
def registry() -> Registry:
    """The committed claims (package data, so an installed wheel reads the same file)."""
    return parse(
        files("nas.analysis.reference").joinpath("claims.yaml").read_text(encoding="utf-8")
    )
