#!/usr/bin/env bash
# Rebuild every product (tables, figures, findings, the ground-truth table) of a finished run
# with the code of COMMIT, from that run's records, and nothing else:
#
#   benchmarks/rebuild_products.sh COMMIT RESULTS_DIR WORK_DIR [CONFIGFILE...]
#
# WORK_DIR/repo is a worktree of COMMIT with RESULTS_DIR's records (runs, finetuning,
# telemetry, recalibration, snapshots) copied in; the products are forced and written to
# WORK_DIR/repo/results. Two calls with two commits over the same RESULTS_DIR, then
# `diff -r WORK_A/repo/results WORK_B/repo/results`, show whether a refactor changed a
# product. Configfiles default to the local profile's (config/scale.yaml).
set -euo pipefail
commit=$1 results=$(cd "$2" && pwd) work=$3
shift 3
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
git -C "$src" worktree add -q --detach "$work/repo" "$commit"
cd "$work/repo"
export PYTHONPATH="$work/repo"  # its own code, not an editable install's
mkdir -p results
for part in runs finetune telemetry recalibration snapshots interference plan.csv; do
    [ -e "$results/$part" ] && cp -a "$results/$part" results/
done
find results -type f -exec touch {} +  # records newer than anything: no training reruns
extra=()
[ $# -gt 0 ] && extra=(--configfile "$@")
snakemake --profile profiles/local "${extra[@]}" --rerun-triggers mtime \
    --forcerun ground_truth table figure findings > "$work/rebuild.log" 2>&1
grep -E "^[0-9]+ of [0-9]+ steps" "$work/rebuild.log" | tail -1
