"""The study config (config/config.yaml and its presets): checked against the workflow's schema,
whose `default`s are the only defaults a study key has.

The workflow validates its config with Snakemake (`validate(..., set_default=True)`);
`nas.plan.Study`, `nas plan` and the products' builders go through here, so they read every
key with its default filled in, from the same schema, and never repeat a default in Python.
Run-level keys (under `run`) take theirs from `nas.config.RunConfig`.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from nas.config import ConfigError

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        raise ConfigError(
            f"the study config's schema is missing ({SCHEMA}): nas reads it from its checkout "
            "(pip install -e .)"
        )
    return yaml.safe_load(SCHEMA.read_text())


def default(key: str) -> Any:
    """The schema's default of a dotted study key, e.g. "figures.group_m"."""
    node = schema()
    for part in key.split("."):
        node = node["properties"][part]
    return copy.deepcopy(node["default"])


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config`, checked against the schema (ConfigError naming the first bad key)
    and with the schema's defaults filled in."""
    check(config)
    return fill_defaults(config)


def check(config: dict[str, Any]) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    if errors:
        first = errors[0]
        *parent, key = [str(p) for p in first.path] or ["<top>"]
        where = ".".join(parent) or "config"
        raise ConfigError(f"study config, {where}: {key!r}: {first.message}")


def fill_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config` with every missing key that the schema gives a default set to it
    (inside objects that are present or themselves have a default); no checking."""
    out = copy.deepcopy(config)
    _fill(out, schema())
    return out


def _fill(node: dict[str, Any], sub: dict[str, Any]) -> None:
    for key, prop in sub.get("properties", {}).items():
        if key not in node and "default" in prop:
            node[key] = copy.deepcopy(prop["default"])
        if isinstance(node.get(key), dict):
            _fill(node[key], prop)
        elif isinstance(node.get(key), list) and isinstance(prop.get("items"), dict):
            for item in node[key]:
                if isinstance(item, dict):
                    _fill(item, prop["items"])
