"""Groupings from measured interference (beyond the paper; its Section 4.2.2 leaves "smart
grouping ... e.g., correlation matrix among child models" to future work).

Group sharing helps most when a group holds children that do not work against each other.
Two measurements of that, both read from a share-all run at one snapshot epoch E:

- ``correlation``: the Pearson correlation between two children's accuracy changes from one
  mini-batch to the next, over the mini-batches evaluated just before the snapshot (the
  run's "snapshot" points). Children whose accuracy rises and falls together are helped and
  hurt by the same steps. Changes, not levels: the levels share the run's trend, which would
  make every pair look alike.
- ``gradient``: the cosine between two children's gradients on the shared weights at the
  snapshot, summed over a few of the run's next mini-batches. A positive cosine means a step
  for one child also helps the other.

nas.core.similarity holds the correlation signal (records only), the balanced partition into m
groups and the files; this module adds the gradient signal, which needs the super-net.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from nas.core.config import ConfigError, from_dict
from nas.core.records import read_records
from nas.core.searchspace import MEASURED_GROUPINGS
from nas.core.similarity import correlation_similarity
from nas.model.supernet import build_supernet
from nas.run.bnstate import kept_bn_state
from nas.run.checkpoint import load_checkpoint
from nas.run.telemetry import child_gradient, shared_parameters
from nas.run.train import BatchSource, load_run_data, precision_context, setup_torch

SIGNALS = MEASURED_GROUPINGS


# --------------------------------------------------------------------------- the signals


def gradient_similarity(snapshot: str | Path, batches: int) -> pd.DataFrame:
    """Children x children: the cosine between their gradients on the shared weights at the
    snapshot, summed over its run's next `batches` mini-batches (BN in training mode, as a
    training step; nothing of the snapshot changes)."""
    if batches < 1:
        raise ConfigError(f"gradient grouping: batches must be >= 1, got {batches}")
    state = load_checkpoint(Path(snapshot))
    cfg = from_dict(state["config"])
    device = setup_torch(cfg)
    data = load_run_data(cfg, device)
    model = build_supernet(cfg, data.n_classes).to(device)
    model.load_state_dict(state["model"])
    model.train()
    source, start = BatchSource(cfg, data), int(state["step"])
    params, children = shared_parameters(model), cfg.run_children()
    grads = torch.zeros(len(children), sum(p.numel() for p in params), device=device)
    with kept_bn_state(model), precision_context(cfg, device):
        for b in range(batches):
            x, y = source.batch(start + b)
            for i, child in enumerate(children):
                grads[i] += child_gradient(model, x, y, child, params)
    unit = torch.nn.functional.normalize(grads, dim=1)
    cos = (unit @ unit.T).cpu().numpy().astype(float)
    return pd.DataFrame(cos, index=children, columns=children)


# --------------------------------------------------------------------------- partition


def measure(signal: str, source: str | Path, epoch: int, batches: int) -> pd.DataFrame:
    """The similarity matrix of one signal: `source` is the share-all run's records file
    (correlation) or its snapshot at `epoch` (gradient)."""
    if signal == "correlation":
        return correlation_similarity(read_records(source), epoch)
    if signal == "gradient":
        return gradient_similarity(source, batches)
    raise ConfigError(f"unknown interference signal {signal!r}; choose one of {list(SIGNALS)}")
