#!/usr/bin/env bash
# The README's main command, timed from a fresh clone in a fresh virtual environment, as a new
# user runs it (nothing else should run on the machine meanwhile).
#
#   benchmarks/fresh_clone_main.sh [WORK_DIR] [COMMIT]
#
# Clones this repository (COMMIT, default HEAD) into WORK_DIR (default a new temporary folder),
# makes a venv, runs the README's first command block verbatim, and prints the wall time, the
# exit code and the job count; the run's results stay in WORK_DIR/repo/results.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
commit=${2:-HEAD}
mkdir -p "$work"
git clone -q "$src" "$work/repo" && git -C "$work/repo" checkout -q "$(git -C "$src" rev-parse "$commit")"
cd "$work/repo" || exit 1
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
command=$(awk '/^```bash$/{getline; print; exit}' README.md)
echo "commit $(git rev-parse --short HEAD); command: $command"
start=$(date +%s)
bash -c "$command" > "$work/main.log" 2>&1
rc=$?
end=$(date +%s)
echo "rc=$rc wall=$((end - start))s ($(( (end - start) / 60 ))m$(( (end - start) % 60 ))s) nproc=$(nproc)"
grep -E "^[0-9]+ of [0-9]+ steps" "$work/main.log" | tail -1
