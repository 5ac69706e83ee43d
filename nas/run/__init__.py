"""Training a run: data, the training driver, checkpoints, run folders. Torch."""
