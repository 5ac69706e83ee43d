"""Reading YAML a user hands us: bounded, unambiguous, one-line errors.

PyYAML's safe loader runs no code, but it still lets a 400-byte file expand through aliases
into a value that exhausts memory when anything formats or copies it, it keeps the last of
two equal keys without a word, and it reads any size of file. Every config file nas reads
comes through `load`; the workflow checks its config with `load_file` and `check_bounded`.

The safe loader builds no Python object from a tag (``!!python/...`` is an error). Snakemake
reads a config file through YTE, which runs a file's ``?`` values as Python when its top level
sets ``__use_yte__``: `load` refuses that key, so a layer that `nas plan` or `nas submit`
accepts is plain data before Snakemake ever reads it.
"""

from __future__ import annotations

import re
import reprlib
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1 << 20  # a study or run config is a few kB; a table is not a config
MAX_NODES = 100_000  # values after alias expansion: the paper config has about 400
YTE_SWITCH = "__use_yte__"  # makes Snakemake's config reader evaluate the file as a template


class YamlError(ValueError):
    """A config file that is not plain, bounded YAML (a ValueError: the CLI's one-line error)."""


def excerpt(value: Any, limit: int = 80) -> str:
    """A bounded repr: error messages quote a value, never the whole of a huge one."""
    short = reprlib.Repr()  # keyword arguments need Python 3.12
    short.maxstring = short.maxother = limit
    short.maxlist = short.maxdict = 4
    short.maxlevel = 2
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping that gives one key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                continue  # unhashable: the base class names that error itself
            if key in seen:
                mark = key_node.start_mark
                raise YamlError(
                    f"key {excerpt(key)} given twice (line {mark.line + 1}): "
                    "YAML would keep the last one silently; remove one of them"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def expanded_size(value: Any, limit: int = MAX_NODES) -> int:
    """How many values `value` holds once every shared reference (YAML alias) is counted
    where it appears; counting stops past `limit`, so a bomb costs no more than that."""
    sizes: dict[int, int] = {}

    def size(v: Any) -> int:
        if not isinstance(v, (dict, list)):
            return 1
        if id(v) in sizes:
            return sizes[id(v)]
        sizes[id(v)] = limit + 1  # a cycle (a recursive alias) is over any bound
        items = list(v.values()) + list(v.keys()) if isinstance(v, dict) else v
        total = 1
        for item in items:
            total += size(item)
            if total > limit:
                break
        sizes[id(v)] = total
        return total

    return size(value)


def check_bounded(value: Any, where: str) -> None:
    """Refuse a value that expands (through aliases) beyond MAX_NODES values."""
    if expanded_size(value) > MAX_NODES:
        raise YamlError(
            f"{where}: expands to more than {MAX_NODES:,} values through YAML aliases "
            "(& and *); a config needs none of that: write the values out"
        )


def _tag_problem(err: yaml.MarkedYAMLError) -> str:
    """A tag the safe loader has no constructor for (``!!python/...``, ``!custom``), named."""
    mark = err.problem_mark
    line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    found = re.search(r"tag '([^']*)'", err.problem or "")
    tag = excerpt(found.group(1).replace("tag:yaml.org,2002:", "!!")) if found else "a tag"
    return (
        f"the tag {tag}{line} asks for a Python object; a config holds plain values "
        "(numbers, strings, lists, mappings) and nas builds none"
    )


def load(text: str, where: str) -> Any:
    """YAML text parsed: plain data, unique keys, bounded size; else a one-line YamlError
    that names `where` (a file, or `--set key=value`)."""
    if len(text.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        raise YamlError(f"{where}: larger than {MAX_BYTES // 1024} KiB; a config is a few kB")
    try:
        loader = _UniqueKeyLoader(text)  # a SafeLoader: plain data only, no tags run code
        try:
            value = loader.get_single_data()
        finally:
            loader.dispose()
    except YamlError as err:
        raise YamlError(f"{where}: {err}") from None
    except RecursionError:
        raise YamlError(f"{where}: nested too deeply to be a config") from None
    except yaml.YAMLError as err:
        if "could not determine a constructor" in (getattr(err, "problem", None) or ""):
            raise YamlError(f"{where}: {_tag_problem(err)}") from None
        mark = getattr(err, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise YamlError(f"{where}: not valid YAML: {problem}{line}") from None
    check_bounded(value, where)
    check_plain(value, where)
    return value


def check_plain(value: Any, where: str) -> None:
    """Refuse a YTE template: Snakemake would run its ``?`` values as Python on loading it."""
    if isinstance(value, dict) and YTE_SWITCH in value:
        raise YamlError(
            f"{where}: {YTE_SWITCH} makes Snakemake run this file's '?' values as Python "
            "(a YTE template) when it loads it; a nas config is plain data: remove the key "
            "and write the values out"
        )


def load_file(path: str | Path) -> Any:
    """`load` of a file, its size checked before it is read."""
    path = Path(path)
    if path.is_dir():
        raise YamlError(f"{path}: is a folder, not a YAML file")
    try:
        size = path.stat().st_size
    except OSError as err:
        raise YamlError(f"{path}: cannot be read ({err.strerror})") from None
    if size > MAX_BYTES:
        raise YamlError(
            f"{path}: {size:,} bytes, larger than {MAX_BYTES // 1024} KiB; a config is a few kB"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlError(f"{path}: not a text file (not UTF-8)") from None
    return load(text, str(path))
