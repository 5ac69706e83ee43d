#!/usr/bin/env bash
# The sorted command lines of every job a study would run (nas train, train-packed,
# finetune, recalibrate, interference, partition), from `snakemake -n -p` at COMMIT:
#
#   benchmarks/train_commands.sh COMMIT WORK_DIR
#
# Writes WORK_DIR/{scale,quick,paper}.txt (the default, quick and paper configs). Two commits'
# files compared with diff show whether a change left every job's command as it was.
set -euo pipefail
commit=$1 work=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
git -C "$src" worktree add -q --detach "$work/repo" "$commit"
cd "$work/repo"
export PYTHONPATH="$work/repo"  # its own code, not an editable install's
jobs='^Shell command: nas (train|train-packed|finetune|recalibrate|interference|partition) '
plan() { snakemake -n -p "$@" 2>&1 | grep -E "$jobs" | sed -E 's/^Shell command: //' | sort; }
plan --profile profiles/local > "$work/scale.txt"
plan --profile profiles/quick > "$work/quick.txt"
plan --cores 1 --configfile config/config.yaml > "$work/paper.txt"
wc -l "$work"/{scale,quick,paper}.txt
