"""Seconds each job of a finished workflow run took, from its log file's birth and last
change times (Snakemake opens a job's log when the job starts; the job writes it until it
ends), summed by kind (the log's first two folders):

    python benchmarks/job_seconds.py [REPO_DIR]
"""

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

logs = Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "logs"
files = sorted(p for p in logs.rglob("*.log") if p.is_file())
out = subprocess.run(
    ["stat", "-c", "%W %Y %n", *map(str, files)], capture_output=True, text=True, check=True
).stdout
by_kind: dict[str, list[int]] = defaultdict(list)
for line in out.splitlines():
    born, changed, name = line.split(" ", 2)
    kind = "/".join(Path(name).relative_to(logs).parts[:2])
    by_kind[kind].append(int(changed) - int(born))
total = 0
for kind, seconds in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
    total += sum(seconds)
    print(f"{kind:40s} {len(seconds):3d} jobs {sum(seconds):6d} s")
print(f"{'total':40s} {sum(map(len, by_kind.values())):3d} jobs {total:6d} s")
