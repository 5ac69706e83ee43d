"""Measurements on trained runs: finetuning, BN recalibration, telemetry, interference, benchmarks.
Torch."""
