"""How fast this machine trains the scale preset now: one ground-truth group of the preset
(child 111 alone, 3 packed seeds, one thread), 1 and then 5 epochs; the difference over 4 is
the seconds per epoch without start-up. Run it beside a timing, so that times taken on days
of other speeds can be compared (machines of one kind differ by day):

    python benchmarks/speed_probe.py [WORK_DIR]
"""

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

work = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
run = {
    "dataset": "motifs",
    "data_root": str(work / "data"),
    "batch_size": 64,
    "lr": 0.1,
    "lr_min": 0.001,
    "momentum": 0.9,
    "weight_decay": 0.001,
    "bn_momentum": 0.4,
    "n_cells": 2,
    "stem_channels": 16,
    "cell_channels": 8,
    "sharing": "groups",
    "m": 64,
    "group": 0,
    "grouping": "similar",
    "eval_epochs": "last",
    "dense_last": 0,
    "device": "cpu",
    "threads": 1,
}  # fmt: skip  (config/scale.yaml's run block, as a ground-truth job trains it)
took = {}
for epochs in (1, 5):
    sets = [a for k, v in {**run, "epochs": epochs}.items() for a in ("--set", f"{k}={v}")]
    out = str(work / f"e{epochs}" / "s{seed}")
    cmd = [sys.executable, "-m", "nas", "train-packed", *sets, "--init-seeds", "0-2"]
    start = time.perf_counter()
    subprocess.run([*cmd, "--out-template", out, "--overwrite"], check=True, capture_output=True)
    took[epochs] = time.perf_counter() - start
per_epoch = (took[5] - took[1]) / 4
cpuinfo = Path("/proc/cpuinfo")
names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
         if line.startswith("model name")] if cpuinfo.exists() else []  # fmt: skip
print(f"1 epoch {took[1]:.1f} s, 5 epochs {took[5]:.1f} s: {per_epoch:.2f} s per epoch "
      f"({names[0] if names else platform.machine()})")  # fmt: skip
