"""A run set: the instances one experiment hands to the products and the findings.

It names its experiment and a key of named fields (a groups set: grouping and m), and says
how its files are read. The planner makes run sets (nas.study.experiments), the products and
the findings read them by their fields, so no one parses a label. The label is only how a
run set travels through the workflow's parameters: the product job plans the study again
and takes each label's run set from the plan (nas.study.catalog.build).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

READERS = ("records", "recalibration", "telemetry")  # how a run set's files are loaded


@dataclass(frozen=True)
class RunSet:
    """One experiment's instances at one key, e.g. RunSet("groups", (("grouping", "random"),
    ("m", 4))), labelled "groups:random/4"."""

    experiment: str
    key: tuple[tuple[str, Any], ...] = ()
    reader: str = "records"

    def __post_init__(self) -> None:
        if self.reader not in READERS:
            raise ValueError(f"run set {self.experiment}: unknown reader {self.reader!r}")

    @property
    def label(self) -> str:
        """'<experiment>' or '<experiment>:<value>/<value>...' (the products' row names)."""
        if not self.key:
            return self.experiment
        return f"{self.experiment}:" + "/".join(str(v) for _, v in self.key)

    @property
    def value(self) -> Any:
        """The key as the findings index it: () without fields, a single field's value, or
        the tuple of the values."""
        values = tuple(v for _, v in self.key)
        return values[0] if len(values) == 1 else values

    def get(self, field: str, default: Any = None) -> Any:
        return dict(self.key).get(field, default)

    def __str__(self) -> str:
        return self.label
