#!/usr/bin/env bash
# Throughput of training, evaluation of all 64 children and packed training (nas bench),
# at the paper's settings (batch 256, 3x32x32, float32), next to the straightforward path
# (--plain: NCHW, reference kernels, stem per child), and optionally the paper's own code.
#
#   benchmarks/run_bench.sh [OUT_DIR] [extra nas bench args...]
#
# Runs `nas bench` RUNS times (default 3) in fresh processes, keeps each JSON, and prints
# the best figure of each key (the machine is shared: best-of filters out interference).
# Load averages at start/end of each run are in the JSONs; quote them with the numbers.
# On a GPU machine: benchmarks/run_bench.sh out/gpu --device cuda --eval-batch-size 2000 --packed 10
# With ORIGINAL_REPO=<checkout of the paper's code> (CPU), each run also times the paper's own
# code (benchmarks/original_bench.py) and the summary gives our speed-ups against it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/out}
shift || true
runs=${RUNS:-3}
mkdir -p "$out"
uptime | tee "$out/uptime_start.txt"
for i in $(seq 1 "$runs"); do
    python -m nas bench --plain --packed "${PACKED:-4}" "$@" > "$out/run$i.json"
    if [[ -n "${ORIGINAL_REPO:-}" ]]; then
        python benchmarks/original_bench.py --repo "$ORIGINAL_REPO" > "$out/original$i.json"
    fi
    echo "run $i done: $(uptime)"
done
python - "$out" "$runs" <<'PY'
import json, sys
from pathlib import Path

out, runs = Path(sys.argv[1]), int(sys.argv[2])
docs = [json.loads((out / f"run{i}.json").read_text()) for i in range(1, runs + 1)]
for i, doc in enumerate(docs, 1):  # the paper's own code, timed in the same run (optional)
    orig = out / f"original{i}.json"
    if orig.exists():
        doc.update({k: v for k, v in json.loads(orig.read_text()).items() if k.startswith("original_")})
ratios = {  # per run (both figures from the same run), and from the best figures
    "speedup_train_vs_plain": ("train_images_per_s", "plain_train_images_per_s"),
    "speedup_eval_vs_plain": ("eval_child_images_per_s", "plain_eval_child_images_per_s"),
    "packed_train_vs_sequential": ("packed_train_model_images_per_s", "train_images_per_s"),
    "speedup_train_vs_original": ("train_images_per_s", "original_train_images_per_s"),
    "speedup_eval_vs_original": ("eval_child_images_per_s", "original_eval_child_images_per_s"),
    "eval_memo_vs_batched": ("eval_memo_child_images_per_s", "eval_batched_child_images_per_s"),
}
best = {}
for key in docs[0]:
    vals = [d.get(key) for d in docs]
    if key.endswith("_per_s"):
        best[key] = max(vals)
    elif key not in ratios:
        best[key] = vals if len({json.dumps(v) for v in vals}) > 1 else vals[0]
for key, (num, den) in ratios.items():
    if num in best and den in best:
        best[key] = round(best[num] / best[den], 2)
        per_run = sorted(round(d[num] / d[den], 2) for d in docs)
        best[key + "_per_run_min_median_max"] = [
            per_run[0], per_run[len(per_run) // 2], per_run[-1]
        ]
(out / "best.json").write_text(json.dumps(best, indent=2) + "\n")
print(json.dumps(best, indent=2))
PY
