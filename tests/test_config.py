"""Bad input stops before any work, with a message that names the key."""

import pytest
import yaml

from nas.cli import main
from nas.core.config import ConfigError, load_config


@pytest.mark.parametrize(
    "override, key",
    [
        ("dataset=imagenet", "dataset"),
        ("sharing=some", "sharing"),
        ("order=random", "order"),
        ("k=7", "k"),
        ("m=3", "m"),
        ("m=4", None),
        ("epochs=0", "epochs"),
        ("grad_clear=maybe", "grad_clear"),
        ("eval_epochs=[0]", "eval_epochs"),
        ("snapshot_epochs=[500]", "snapshot_epochs"),
        ("bn_momentum=1.5", "bn_momentum"),
        ("device=tpu", "device"),
    ],
)
def test_bad_values_name_their_key(override, key):
    if key is None:
        assert load_config(None, [override]).m == 4
        return
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(None, [override])


def test_group_index_out_of_range():
    with pytest.raises(ConfigError, match="'group'"):
        load_config(None, ["sharing=groups", "m=4", "group=4"])


def test_unknown_op_and_unknown_key():
    with pytest.raises(ConfigError, match="conv_9x9"):
        load_config(None, ["ops=[max_pool_3x3, conv_9x9]"])
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(None, ["learning_rate=0.1"])


def test_config_file_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"epochs": 5, "dataset": "digits"}))
    cfg = load_config(path, ["epochs=7"])
    assert cfg.epochs == 7 and cfg.dataset == "digits"


def test_cli_reports_bad_input_without_a_traceback(tmp_path, capsys):
    code = main(["train", "--set", "k=9", "--set", "sharing=prefix", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "'k'" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing was started


def test_dense_window_longer_than_the_run_is_refused_before_training(tmp_path, capsys):
    code = main(
        [
            "train",
            "--set",
            "dataset=digits",
            "--set",
            "epochs=1",
            "--set",
            "dense_last=500",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 2
    assert "'dense_last'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
