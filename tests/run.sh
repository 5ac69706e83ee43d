#!/usr/bin/env bash
# The project's test command: installs everything (pip, and apt for the SLURM cluster), brings
# up the single-node SLURM cluster, runs the whole suite (slow and SLURM tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e '.[test]'
bash tests/slurm/setup_slurm.sh
trap 'bash tests/slurm/teardown_slurm.sh' EXIT
python3 -m pytest -ra "$@"
