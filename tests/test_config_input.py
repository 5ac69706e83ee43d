"""Config input a user or an attacker hands us: every key checked at every depth, numbers
finite and in range, duplicate keys and alias bombs refused, errors one line and bounded."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
import yaml

from nas.cli import main
from nas.core import safeyaml, studyconfig

REPO = Path(__file__).resolve().parents[1]
OPEN_SECTIONS = {("run",), ("experiments", "strategies", "[]", "set")}  # checked by RunConfig


def _sections(node: dict, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every object of the schema that has named keys, as a path ('[]' for list items)."""
    out = []
    for option in node.get("oneOf", []):
        out += _sections(option, path)
    if "properties" in node:
        out.append(path)
        for key, sub in node["properties"].items():
            out += _sections(sub, (*path, key))
    if isinstance(node.get("items"), dict):
        out += _sections(node["items"], (*path, "[]"))
    return out


SECTIONS = sorted(set(_sections(studyconfig.schema())) - OPEN_SECTIONS)


def _one_line_error(capsys, argv: list[str], *words: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert len(err) <= 2100, len(err)  # nas.cli.MAX_ERROR and the command's name
    for word in words:
        assert word in err, err
    return err


def _layer(tmp_path: Path, text: str, name: str = "layer.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_every_schema_section_refuses_unknown_keys():
    def node_at(path):
        node = studyconfig.schema()
        for part in path:
            node = node["items"] if part == "[]" else node["properties"][part]
        return node

    open_ = [p for p in SECTIONS if node_at(p).get("additionalProperties") is not False]
    toggles = studyconfig.schema()["definitions"]["toggle"]["oneOf"][1]
    assert not open_ and toggles["additionalProperties"] is False, open_


@pytest.mark.parametrize("section", [s for s in SECTIONS if "[]" not in s], ids=".".join)
def test_a_typo_in_any_section_is_named_with_the_section(tmp_path, capsys, section):
    value: dict = {"zzz_typo": 1}
    for key in reversed(section):
        value = {key: value}
    layer = _layer(tmp_path, yaml.safe_dump(value))
    where = ".".join(section) or "study config"
    _one_line_error(capsys, ["plan", "config/config.yaml", layer], "zzz_typo", where)


@pytest.mark.parametrize(
    ("text", "typo", "near"),
    [
        ("experiments: {finetune: {step: 50}}", "'step'", "'steps'"),
        ("experiments: {groups: {partition_sed: 7}}", "'partition_sed'", "'partition_seed'"),
        ("figures: {group_n: 8}", "'group_n'", "'group_m'"),
    ],
)
def test_a_typo_names_the_nearest_known_key(tmp_path, capsys, text, typo, near):
    layer = _layer(tmp_path, text)
    _one_line_error(capsys, ["plan", "config/config.yaml", layer], typo, f"did you mean {near}")


def test_a_run_config_typo_names_the_nearest_key(tmp_path, capsys):
    _one_line_error(
        capsys, ["train", "--set", "weight_decy=0.1", "--out", str(tmp_path / "o")], "weight_decay"
    )


@pytest.mark.parametrize("key", ["lr", "weight_decay", "momentum", "bn_momentum", "lr_min"])
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused_in_a_run_config(tmp_path, capsys, key, value):
    config = _layer(tmp_path, f"{key}: {value}\n")
    _one_line_error(capsys, ["train", "--config", config, "--out", str(tmp_path / "o")], key)
    assert not (tmp_path / "o").exists()


def test_non_finite_numbers_are_refused_in_a_study(tmp_path, capsys):
    layer = _layer(tmp_path, "throughput: {train_images_per_s: .inf}\n")
    _one_line_error(capsys, ["plan", "config/config.yaml", layer], "train_images_per_s", "finite")


def test_an_absurd_epoch_count_is_refused_before_anything_is_allocated(tmp_path, capsys):
    argv = ["train", "--set", "epochs=1000000000", "--out", str(tmp_path / "o")]
    _one_line_error(capsys, argv, "epochs", "at most")


def test_a_duplicate_key_is_refused_naming_key_and_line(tmp_path, capsys):
    config = _layer(tmp_path, "lr: 0.1\nepochs: 2\nlr: 0.2\n")
    argv = ["train", "--config", config, "--out", str(tmp_path / "o")]
    _one_line_error(capsys, argv, "'lr' given twice", "line 3", "layer.yaml")
    layer = _layer(tmp_path, "instances: 3\ninstances: 4\n", "study.yaml")
    _one_line_error(capsys, ["plan", "config/config.yaml", layer], "'instances' given twice")


def _bomb(levels: int = 9, width: int = 9, mapping: bool = False) -> str:
    """The billion laughs: each level holds `width` aliases of the one below."""
    text = 'a0: &a0 ["lol"]\n'
    for i in range(1, levels + 1):
        if mapping:
            inner = ", ".join(f"k{j}: *a{i - 1}" for j in range(width))
            text += f"a{i}: &a{i} {{{inner}}}\n"
        else:
            text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]\n"
    return text


@pytest.mark.parametrize("mapping", [False, True], ids=["lists", "mappings"])
@pytest.mark.parametrize("command", ["train", "plan"])
def test_an_alias_bomb_is_refused_within_time_and_memory(tmp_path, capsys, mapping, command):
    bomb = _layer(tmp_path, _bomb(mapping=mapping))
    assert len(bomb) < 1000 and Path(bomb).stat().st_size < 1000
    argv = ["train", "--config", bomb, "--out", str(tmp_path / "o")]
    if command == "plan":
        argv = ["plan", "config/config.yaml", bomb]
    tracemalloc.start()
    start = time.perf_counter()
    try:
        _one_line_error(capsys, argv, "aliases", "layer.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 60 and peak < 100 * 2**20, peak


def test_a_recursive_alias_is_refused(tmp_path, capsys):
    layer = _layer(tmp_path, "a: &a [*a]\n")
    _one_line_error(capsys, ["plan", "config/config.yaml", layer], "aliases")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, capsys):
    layer = tmp_path / "huge.yaml"
    layer.write_text("# padding\n" * (safeyaml.MAX_BYTES // 10 + 1))
    _one_line_error(capsys, ["plan", "config/config.yaml", str(layer)], "huge.yaml", "KiB")


def test_an_error_quotes_a_bounded_excerpt_of_a_long_value(tmp_path, capsys):
    config = _layer(tmp_path, f"dataset: {'x' * 100_000}\n")
    err = _one_line_error(capsys, ["train", "--config", config, "--out", str(tmp_path / "o")])
    assert len(err) < 1000, len(err)
    layer = _layer(tmp_path, f"dataset: [{', '.join(['1'] * 20_000)}]\n", "study.yaml")
    err = _one_line_error(capsys, ["plan", "config/config.yaml", layer], "dataset")
    assert len(err) < 1000, len(err)


@pytest.mark.parametrize(
    ("key", "text", "hint"),
    [("lr", "1e-3", "0.001"), ("lr", "1.0e3", "1000.0"), ("weight_decay", "5E-4", "0.0005")],
)
def test_the_float_hint_gives_spellings_that_are_numbers(tmp_path, capsys, key, text, hint):
    config = _layer(tmp_path, f"{key}: {text}\n")
    argv = ["train", "--config", config, "--out", str(tmp_path / "o")]
    err = _one_line_error(capsys, argv, key, hint)
    spellings = err.split("write it as ")[1].split(" or ")
    assert len(spellings) == 2
    for spelling in spellings:
        assert isinstance(yaml.safe_load(spelling.strip()), float), spelling


def test_an_integer_key_gets_digits_not_the_float_hint(tmp_path, capsys):
    config = _layer(tmp_path, "epochs: 1e3\n")
    argv = ["train", "--config", config, "--out", str(tmp_path / "o")]
    err = _one_line_error(capsys, argv, "epochs", "digits, 1000")
    assert "e+" not in err and "e-" not in err


def _dry_run(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    layer = _layer(tmp_path, text)
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", layer],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("experiments: {finetune: {step: 50}}\n", ["'step'", "did you mean 'steps'"]),
        ("instances: 3\ninstances: 4\n", ["'instances' given twice"]),
        (_bomb(), ["aliases"]),
    ],
    ids=["typo", "duplicate", "bomb"],
)
def test_the_workflow_refuses_the_same_config_before_any_job(tmp_path, text, words):
    done = _dry_run(tmp_path, text)
    assert done.returncode != 0
    for word in words:
        assert word in done.stderr + done.stdout, done.stderr[-2000:]
    assert len(done.stderr) < 20_000


@pytest.mark.parametrize("source", ["set", "file", "study"])
def test_a_malformed_device_string_is_one_line_from_any_source(tmp_path, capsys, source):
    out = str(tmp_path / "o")
    if source == "set":
        argv = ["train", "--set", "device=cuda:abc", "--out", out]
    elif source == "file":
        argv = ["train", "--config", _layer(tmp_path, 'device: "cuda:abc"\n'), "--out", out]
    else:
        argv = ["plan", "config/config.yaml", _layer(tmp_path, 'run: {device: "cuda:abc"}\n')]
    _one_line_error(capsys, argv, "device", "cuda:abc")


# -- damaged files: each loader names the file and the remedy ------------------------------


def _train_argv(out: Path) -> list[str]:
    from tests.test_train import TINY

    return ["train"] + [a for kv in TINY for a in ("--set", kv)] + ["--out", str(out)]


@pytest.mark.parametrize("content", ["", "{}", "[1, 2]", '{"config": 3}', "\x00\xff garbage"])
def test_a_damaged_config_json_is_named_with_the_remedy(tmp_path, capsys, content):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_bytes(content.encode("latin-1"))
    _one_line_error(capsys, _train_argv(out), "config.json", "damaged", "--overwrite")


@pytest.mark.parametrize("keep", [0, 100, 0.5])
def test_a_truncated_checkpoint_is_named_with_the_remedy(tmp_path, keep):
    import torch

    from nas.run.checkpoint import CheckpointError, load_checkpoint

    path = tmp_path / "resume.pt"
    torch.save({"config": {}, "weights": torch.zeros(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(CheckpointError, match="resume.pt.*delete it to start the run afresh"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\xff\xfe" * 50, b"child,group\n"])
@pytest.mark.parametrize("kind", ["partition", "similarity"])
def test_an_empty_or_binary_measured_file_is_named(tmp_path, kind, content):
    from nas.core import similarity

    path = tmp_path / f"{kind}.csv"
    path.write_bytes(content)
    read = similarity.read_partition if kind == "partition" else similarity.read_similarity
    with pytest.raises(ValueError, match=f"{kind}.csv"):
        read(path)


def test_overwrite_replaces_a_run_whose_config_json_is_damaged(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{")
    (out / "keep.txt").write_text("a user's file")
    assert main([*_train_argv(out), "--overwrite"]) == 0
    assert (out / "records.csv").exists() and (out / "keep.txt").exists()


# -- fuzz: malformed YAML into every command that reads a config ---------------------------

NOISE = [":", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/object:os.system ", "%", "\t",
         "'", '"', "? ", "\x00", "\ufeff", "1e-3", ".inf", "\n", "  ", "<<: *a"]  # fmt: skip


def _mutants(text: str, count: int, seed: int) -> list[str]:
    """Seeded mutations of a valid config: noise inserted, lines cut or swapped, truncation."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(count):
        lines = text.splitlines(keepends=True)
        for _ in range(rng.randint(1, 4)):
            kind = rng.randrange(4)
            at = rng.randrange(len(lines))
            if kind == 0:
                cut = rng.randrange(len(lines[at]) + 1)
                lines[at] = lines[at][:cut] + rng.choice(NOISE) + lines[at][cut:]
            elif kind == 1:
                del lines[at]
            elif kind == 2:
                lines.insert(at, lines[rng.randrange(len(lines))])
            else:
                lines = lines[:at]
            lines = lines or ["{"]
        out.append("".join(lines))
    return out


def _commands(config: str, tmp_path: Path) -> dict[str, list[str]]:
    """Each command that reads a YAML config, aimed so that a valid one still stops before
    any training (--out names a file): exit 2 either way."""
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = ["--out", str(blocker)]
    return {
        "plan": ["plan", "config/config.yaml", config],
        "train": ["train", "--config", config, *out],
        "train-packed": ["train-packed", "--config", config, "--init-seeds", "0-1",
                         "--out-template", str(blocker / "s{seed}")],
        "finetune": ["finetune", "--config", config, "--snapshot", str(blocker), "--steps",
                     "2", *out],
    }  # fmt: skip


@pytest.mark.parametrize("command", ["plan", "train", "train-packed", "finetune"])
def test_fuzzed_configs_give_one_line_and_exit_2_within_bounds(tmp_path, capsys, command):
    base = "config/scale.yaml" if command == "plan" else "tests/data/tiny.yaml"
    text = (REPO / base).read_text()
    if command != "plan":
        text = yaml.safe_dump(yaml.safe_load((REPO / "config/scale.yaml").read_text())["run"])
    tracemalloc.start()
    start = time.perf_counter()
    try:
        for i, mutant in enumerate(_mutants(text, 30, seed=zlib.crc32(command.encode()))):
            path = tmp_path / f"m{i}.yaml"
            path.write_bytes(mutant.encode("utf-8", "surrogatepass"))
            argv = _commands(str(path), tmp_path)[command]
            code = main(argv)
            err = capsys.readouterr().err
            if command == "plan" and code == 0:
                continue  # a mutation that is still a valid study: planned, nothing run
            assert code == 2, (mutant, err)
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (mutant, err)
            assert len(err) <= 2100, len(err)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 240 and peak < 300 * 2**20, peak


def test_fuzzed_workflow_configs_are_refused_before_any_job(tmp_path):
    """Snakemake reads the layer itself: a malformed one ends the dry-run with a bounded
    message and no Python traceback, or (still valid) plans without running anything."""
    text = (REPO / "tests/data/tiny.yaml").read_text()
    for mutant in _mutants(text, 5, seed=7):
        done = _dry_run(tmp_path, mutant)
        if done.returncode == 0:
            assert "This was a dry-run" in done.stdout
            continue
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert len(done.stderr) < 20_000


def test_metrics_on_a_very_wide_csv_prints_a_bounded_line(tmp_path, capsys):
    """200,000 columns (the issue's million-column file printed a 10.9 MB line)."""
    n = 200_000
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["step", *(f"c{i}" for i in range(n))]) + "\n1" + ",0.5" * n + "\n")
    _one_line_error(capsys, ["metrics", str(path)], "wide.csv")


def test_submit_reads_the_layers_before_it_submits_anything(tmp_path, capsys, monkeypatch):
    """Snakemake's merge of --configfile layers copies nested mappings: a mapping bomb
    exhausts Snakemake itself, so `nas submit` checks the layers before the controller."""
    from nas.cluster import submit

    monkeypatch.setattr(submit, "submit_controller", lambda *a, **k: pytest.fail("submitted"))
    bomb = _layer(tmp_path, _bomb(mapping=True))
    argv = ["submit", "--", "--profile", "profiles/slurm", "--configfile", bomb]
    _one_line_error(capsys, argv, "aliases", "layer.yaml")


# -- a config is data: nothing in it runs ---------------------------------------------------

PYTHON_TAGS = {
    "apply": 'epochs: !!python/object/apply:os.system ["touch {sentinel}"]\n',
    "new": 'epochs: !!python/object/new:os.system ["touch {sentinel}"]\n',
    "name": "epochs: !!python/name:os.system\n",
}


def _yte_template(sentinel: Path) -> str:
    """A YTE template whose value touches `sentinel` if anything evaluates it."""
    return f"__use_yte__: true\ninstances: ?__import__('pathlib').Path({str(sentinel)!r}).touch()\n"


@pytest.mark.parametrize("text", PYTHON_TAGS.values(), ids=PYTHON_TAGS)
def test_a_python_tag_builds_nothing_and_is_named(tmp_path, capsys, text):
    sentinel = tmp_path / "ran"
    layer = _layer(tmp_path, text.format(sentinel=sentinel))
    words = ("layer.yaml", "!!python/", "asks for a Python object")
    _one_line_error(capsys, ["train", "--config", layer, "--out", str(tmp_path / "o")], *words)
    _one_line_error(
        capsys,
        [
            "plan",
            "config/config.yaml",
            _layer(tmp_path, "run:\n  " + text.format(sentinel=sentinel), "study.yaml"),
        ],
        "study.yaml",
        "asks for a Python object",
    )
    assert not sentinel.exists()


def test_nas_refuses_a_yte_template_before_snakemake_could_run_it(tmp_path, capsys, monkeypatch):
    """Snakemake's config reader runs a YTE template's '?' values; nas never evaluates them,
    and `nas plan` and `nas submit` refuse the file, so it never reaches Snakemake."""
    from nas.cluster import submit

    monkeypatch.setattr(submit, "submit_controller", lambda *a, **k: pytest.fail("submitted"))
    sentinel = tmp_path / "ran"
    layer = _layer(tmp_path, _yte_template(sentinel))
    _one_line_error(capsys, ["plan", "config/config.yaml", layer], "layer.yaml", "__use_yte__")
    argv = ["submit", "--", "--profile", "profiles/slurm", "--configfile", layer]
    _one_line_error(capsys, argv, "layer.yaml", "__use_yte__", "plain data")
    assert not sentinel.exists()


def test_the_workflow_stops_on_a_yte_template_that_snakemake_has_already_run(tmp_path):
    """The known limit the docs state: plain `snakemake --configfile` evaluates the template
    while it loads the file, before any workflow code; the workflow then stops the run."""
    sentinel = tmp_path / "ran"
    done = _dry_run(tmp_path, _yte_template(sentinel))
    assert done.returncode != 0
    assert "__use_yte__" in done.stderr + done.stdout, done.stderr[-2000:]
    assert sentinel.exists()  # Snakemake ran it: check a config you did not write with nas plan
