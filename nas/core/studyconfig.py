"""The study config (config/config.yaml and its presets): checked against the workflow's schema,
whose `default`s are the only defaults a study key has.

The workflow validates its config with Snakemake (`validate(..., set_default=True)`);
`nas.study.plan.Study`, `nas plan` and the products' builders go through here, so they read every
key with its default filled in, from the same schema, and never repeat a default in Python.
Run-level keys (under `run`) take theirs from `nas.core.config.RunConfig`.
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from nas.core import safeyaml
from nas.core.config import ConfigError, unknown_keys

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        raise ConfigError(
            f"the study config's schema is missing ({SCHEMA}): nas reads it from its checkout "
            "(pip install -e .)"
        )
    return safeyaml.load(SCHEMA.read_text(), str(SCHEMA))


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
    """ConfigError naming the first bad key: an unknown key with its nearest known one, a
    non-finite number, or the schema's complaint (quoting a bounded excerpt of the value)."""
    import jsonschema

    safeyaml.check_bounded(config, "study config")
    _check_finite(config, [])
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ConfigError(_describe(errors[0]))


def _describe(error: Any) -> str:
    path = [str(p) for p in error.path]
    where = "study config" + (", " + ".".join(path) if path else "")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        unknown = sorted((k for k in error.instance if k not in known), key=str)
        return unknown_keys(where, unknown, known)
    message = error.message
    if len(message) > 200:  # jsonschema quotes the whole value
        message = f"{safeyaml.excerpt(error.instance)} fails {error.validator!r}"
    *_, key = path or ["<top>"]
    return f"{where}: {key!r}: {message}"


def _check_finite(node: Any, path: list[str]) -> None:
    """`.inf` and `.nan` are valid YAML numbers, and no key of a study means them."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"study config, {'.'.join(path)}: must be a finite number, got {node}")
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        _check_finite(child, [*path, str(key)])


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


def reference_markdown() -> str:
    """docs/config.md: every study key with its type, default and description, from the
    schema (the one place they are written), so the reference cannot drift from it."""
    lines = [
        "# The study config, key by key",
        "",
        "Generated from `workflow/schemas/config.schema.yaml` by",
        '`python -c "from nas import studyconfig; print(studyconfig.reference_markdown(), '
        "end='')\" > docs/config.md`",
        "(`tests/test_docs.py` checks it is current). Run keys beyond those under `run` are",
        "`nas.core.config.RunConfig`'s fields; `nas train --set key=value` takes them too.",
        "",
        "| key | type | default | what it is |",
        "|---|---|---|---|",
    ]
    _reference_rows(schema(), "", lines)
    return "\n".join(lines) + "\n"


def _reference_rows(node: dict[str, Any], prefix: str, lines: list[str]) -> None:
    for key, sub in (node.get("properties") or {}).items():
        name = f"{prefix}{key}"
        kind = sub.get("type", "object" if "properties" in sub else "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        if "enum" in sub:
            kind = " / ".join(map(str, sub["enum"]))
        elif "$ref" in sub:  # the on/off toggle
            kind = "true / false / {enabled: ...}"
        default = f"`{sub['default']}`" if "default" in sub else ""
        text = " ".join(str(sub.get("description", "")).split())
        lines.append(f"| `{name}` | {kind} | {default} | {text} |")
        _reference_rows(sub, f"{name}.", lines)
        if isinstance(sub.get("items"), dict):
            _reference_rows(sub["items"], f"{name}[].", lines)
