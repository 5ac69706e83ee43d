"""`nas` command line: the entry points the workflow calls and a person can call by hand."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from nas.core.config import ConfigError, load_config

OVERWRITE_HELP = (
    "if the run folder holds a run of other arguments, replace it (same arguments: resume or "
    "leave alone, as without this flag)"
)
PARTITION_HELP = "a measured grouping's partition (child,group CSV of `nas interference`)"
DEBUG_HELP = "show the full traceback of an error (also: NAS_DEBUG=1)"
LIFELINE_HELP = (
    "stop (saving the checkpoint) when the process that started this one, or its parent, "
    "dies: for jobs of a workflow manager"
)


def run_sets(args: argparse.Namespace) -> list[str]:
    """The --set overrides, and a measured partition's (--partition-file) as `partition`."""
    if not args.partition_file:
        return list(args.set)
    from nas.core.similarity import partition_text, read_partition

    return [*args.set, f"partition={partition_text(read_partition(args.partition_file))}"]


def _train(args: argparse.Namespace) -> int:
    from nas.run.train import run_groups, run_training

    cfg = load_config(args.config, run_sets(args))
    refuse_nested(Path(args.out))
    if args.groups:
        if args.checkpoint:
            raise ConfigError("--checkpoint: with --groups each group keeps its own")
        groups = parse_index_list(args.groups, cfg.m)
        run_groups(cfg, [cfg.init_seed], groups, [args.out], overwrite=args.overwrite)
    else:
        run_training(cfg, args.out, checkpoint=args.checkpoint, overwrite=args.overwrite)
    return 0


def refuse_nested(out: Path) -> None:
    """--out inside another run's folder: that run's --overwrite would delete this one."""
    from nas.run.runfolder import RunFolderError, enclosing_run

    outer = enclosing_run(out)
    if outer is not None:
        raise RunFolderError(
            f"--out {out}: inside the run folder {outer}, whose --overwrite would delete it; "
            "choose a folder outside it"
        )


def parse_ranges(text: str, what: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]; anything else (5-2, a-b, a repeat) names `what`."""
    out: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ConfigError(f"{what}: {part.strip()!r} is not an index or a range like 0-7")
        if int(hi or lo) < int(lo):
            raise ConfigError(f"{what}: range {part.strip()!r} runs backwards")
        out += list(range(int(lo), int(hi or lo) + 1))
    if len(set(out)) != len(out):
        raise ConfigError(f"{what}: {text!r} names an index twice")
    return out


def parse_index_list(text: str, m: int) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]; every index must be a group of the partition."""
    out = parse_ranges(text, "--groups")
    bad = [g for g in out if not 0 <= g < m]
    if bad:
        raise ConfigError(f"--groups: indexes {bad} outside 0..m-1={m - 1}")
    return out


def _finetune(args: argparse.Namespace) -> int:
    from nas.measure.finetune import run_finetune
    from nas.run.runfolder import check_writable

    cfg = load_config(args.config, args.set)
    children = args.children.split(",") if args.children else None
    if Path(args.out).is_dir():
        raise ConfigError(f"--out {args.out}: is a folder; give the records CSV to write")
    check_writable(Path(args.out).parent)
    run_finetune(cfg, args.snapshot, args.steps, args.out, children=children)
    return 0


def parse_batch_counts(text: str) -> list[int]:
    """'0,4,16' -> [0, 4, 16]: recalibration mini-batch counts, each >= 0, none twice."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise ConfigError(f"--batches: {text!r} is not a comma-separated list of integers >= 0")
    counts = [int(p) for p in parts]
    if len(set(counts)) != len(counts):
        raise ConfigError(f"--batches: {text!r} names a count twice")
    return counts


def _recalibrate(args: argparse.Namespace) -> int:
    from nas.measure.recalibrate import run_recalibration
    from nas.run.runfolder import check_writable

    cfg = load_config(args.config, args.set)
    counts = parse_batch_counts(args.batches)
    children = args.children.split(",") if args.children else None
    if Path(args.out).is_dir():
        raise ConfigError(f"--out {args.out}: is a folder; give the CSV to write")
    check_writable(Path(args.out).parent)
    run_recalibration(cfg, args.snapshot, counts, args.out, children=children)
    return 0


def _metrics(args: argparse.Namespace) -> int:
    from nas.analysis import metrics, reference

    if args.window is not None and args.window < 1:
        raise ConfigError(f"--window must be >= 1 (the last K points), got {args.window}")
    matrix = metrics.read_wide(args.accuracy)
    if args.ground_truth:
        gt = metrics.read_ground_truth(args.ground_truth)
        gt_acc, gt_rank = gt["acc_mean"], gt["rank"]
    else:
        gt_acc, gt_rank = reference.ground_truth_accuracy(), reference.ground_truth_rank()
    missing = sorted(set(matrix.columns) - set(gt_acc.index))
    if missing:
        raise ValueError(f"{args.accuracy}: children {missing} have no ground truth")
    window = args.window or len(matrix)
    metrics.check_defined(matrix.iloc[-window:], str(args.accuracy))
    summary = metrics.summarize_run(matrix, gt_acc, gt_rank, window)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}\t{value:.4f}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from nas.measure.bench import BenchSettings, bench

    settings = BenchSettings(
        device=args.device,
        batch_size=args.batch_size,
        image_size=args.image_size,
        train_steps=args.train_steps,
        eval_images=args.eval_images,
        channels_last=not args.nchw,
        plain=args.plain,
        eval_batch_size=args.eval_batch_size,
        packed=args.packed,
        repeats=args.repeats,
        plain_train_steps=args.plain_train_steps,
        plain_eval_images=args.plain_eval_images,
        tf32=args.tf32,
        bf16=args.bf16,
    )
    out = bench(settings)
    print(json.dumps(out, indent=2))
    return 0


def _train_packed(args: argparse.Namespace) -> int:
    from nas.run.train import run_groups, train_members, write_manifest

    cfg = load_config(args.config, run_sets(args))
    seeds = parse_ranges(args.init_seeds, "--init-seeds")
    if "{seed}" not in args.out_template:
        raise ConfigError("--out-template must contain {seed}, e.g. runs/gt/seed{seed}")
    outs = [Path(args.out_template.replace("{seed}", str(s))) for s in seeds]
    for out in outs:
        refuse_nested(out)
    if args.groups:
        if args.checkpoint:
            raise ConfigError("--checkpoint: with --groups each group keeps its own")
        groups = parse_index_list(args.groups, cfg.m)
        files = run_groups(cfg, seeds, groups, outs, overwrite=args.overwrite)
    else:
        files = train_members(
            cfg, seeds, outs, checkpoint=args.checkpoint, overwrite=args.overwrite
        )
    if args.manifest:
        write_manifest(args.manifest, seeds, files)
    return 0


def _interference(args: argparse.Namespace) -> int:
    from nas.core import similarity
    from nas.measure import interference

    matrix = interference.measure(args.signal, args.source, args.epoch, args.batches)
    similarity.write_similarity(matrix, args.out)
    print(f"{args.signal}: {len(matrix)} children, mean similarity {matrix.values.mean():.3f}")
    return 0


def _partition(args: argparse.Namespace) -> int:
    from nas.core import similarity

    matrix = similarity.read_similarity(args.similarity)
    groups = similarity.balanced_partition(matrix, args.m)
    similarity.write_partition(groups, args.out)
    score = similarity.within_similarity(matrix, groups)
    print(f"m={args.m}: mean similarity within groups {score:.3f}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from nas.run.data import download_dataset

    download_dataset(args.name, args.root)
    print(f"{args.name} is ready under {args.root}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    import pandas as pd

    from nas.core import safeyaml
    from nas.study.cost import Cost
    from nas.study.plan import Study

    config: dict = {}
    for path in args.configfile:
        layer = safeyaml.load_file(path) or {}
        if not isinstance(layer, dict):
            raise safeyaml.YamlError(f"{path}: a study config must be a YAML mapping")
        _deep_update(config, layer)
    study = Study(config)
    study.validate()
    print(pd.DataFrame(Cost(study).summary()).to_string(index=False))
    return 0


def _nasbench201(args: argparse.Namespace) -> int:
    from nas.analysis.benchmark_table import table_facts
    from nas.core import nasbench201
    from nas.core.records import atomic_write_text

    accuracies = nasbench201.seed_accuracies(args.dataset)
    facts = table_facts(accuracies)
    best = facts["best_child"]
    print(
        f"NAS-Bench-201 {args.dataset}: {facts['cells']} cells, {facts['seeds']} seeds at most "
        f"({facts['cells_all_seeds']} cells have all); best {facts['best_acc_mean']:.2f} % "
        f"(child {best}, {nasbench201.arch_string(best)}); median {facts['acc_median']:.2f} %\n"
        f"Kendall tau seed 0 vs 1 (every cell) {facts['tau_seed0_seed1']:.4f}; S-Tau "
        f"{facts['s_tau']:.4f} and split-half agreement {facts['split_half_agreement']:.4f} "
        "(cells with every seed)"
    )
    if args.out:
        table = nasbench201.ground_truth(accuracies)
        atomic_write_text(args.out, table.to_csv(index=False))
        print(f"wrote {args.out}: child, acc_mean, acc_std, rank (percent, over the seeds)")
    return 0


def _deep_update(base: dict, new: dict) -> None:
    """Merge as Snakemake merges --configfile layers: nested mappings key by key."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


def _submit(args: argparse.Namespace) -> int:
    from nas.cluster.submit import describe_controller, submit_controller

    smk = list(args.snakemake_args)
    if smk[:1] == ["--"]:
        smk = smk[1:]
    smk = smk or ["--profile", "profiles/slurm"]
    check_configfiles(smk)
    job = submit_controller(
        smk,
        folder=args.folder,
        partition=args.partition,
        account=args.account,
        hours=args.hours,
        cpus=args.cpus,
        mem_gb=args.mem_gb,
    )
    print(describe_controller(job))
    if not args.wait:
        return 0
    try:
        job.result()
    except Exception as err:  # the job failed: its state and log tell why
        print(f"controller job {job.job_id} failed ({job.state}): {err}", file=sys.stderr)
        return 1
    print(f"controller job {job.job_id} finished: snakemake exited with status 0")
    return 0


def check_configfiles(smk: list[str]) -> None:
    """The --configfile layers of a snakemake command line, read as nas reads a config,
    before the controller is submitted: Snakemake's own merge copies nested mappings, so a
    layer that expands through aliases would exhaust the controller's memory on the cluster
    before the workflow could refuse it."""
    from nas.core import safeyaml

    files, taking = [], False
    for arg in smk:
        if arg.startswith("--configfile="):
            files.append(arg.split("=", 1)[1])
        elif arg in ("--configfile", "--configfiles"):
            taking = True
        elif taking and not arg.startswith("-"):
            files.append(arg)
        else:
            taking = False
    for path in files:
        safeyaml.load_file(path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nas", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one super-net instance (or one group)")
    t.add_argument("--config", help="run config YAML")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    t.add_argument("--out", required=True, help="run folder (records.csv, run.json)")
    t.add_argument("--checkpoint", help="resume state path (default OUT/resume.pt)")
    t.add_argument("--groups", help="train these groups of the partition, e.g. 0-7 (packing)")
    t.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    t.add_argument("--partition-file", help=PARTITION_HELP)
    t.add_argument("--die-with-parent", action="store_true", help=LIFELINE_HELP)
    t.set_defaults(fn=_train)

    f = sub.add_parser("finetune", help="finetune every child from a snapshot")
    f.add_argument("--config")
    f.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    f.add_argument("--snapshot", required=True)
    f.add_argument("--steps", type=int, default=64)
    f.add_argument("--children", help="comma-separated subset (default: all of the run)")
    f.add_argument("--out", required=True, help="records CSV to write")
    f.add_argument("--die-with-parent", action="store_true", help=LIFELINE_HELP)
    f.set_defaults(fn=_finetune)

    r = sub.add_parser("recalibrate", help="evaluate every child after BN recalibration")
    r.add_argument("--config")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--snapshot", required=True)
    r.add_argument("--batches", default="0,4,16", help="mini-batch counts N, e.g. 0,4,16")
    r.add_argument("--children", help="comma-separated subset (default: all of the run)")
    r.add_argument("--out", required=True, help="CSV to write (batches, child, acc, ...)")
    r.add_argument("--die-with-parent", action="store_true", help=LIFELINE_HELP)
    r.set_defaults(fn=_recalibrate)

    m = sub.add_parser("metrics", help="GT-Tau and Top-n-Rank of a wide accuracy matrix")
    m.add_argument("accuracy", help="wide CSV: step/epoch column, then one column per child")
    m.add_argument("--ground-truth", help="CSV with child,acc_mean[,rank] (default: Table 5)")
    m.add_argument("--window", type=int, help="last K points (default: all)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(fn=_metrics)

    b = sub.add_parser("bench", help="training and evaluation throughput, as JSON")
    b.add_argument("--device", default="auto")
    b.add_argument("--batch-size", type=int, default=256)
    b.add_argument("--image-size", type=int, default=32)
    b.add_argument("--train-steps", type=int, default=20)
    b.add_argument("--eval-images", type=int, default=512)
    b.add_argument("--nchw", action="store_true", help="disable channels-last")
    b.add_argument(
        "--plain",
        action="store_true",
        help="also time the straightforward path (NCHW, reference kernels, per-child eval)",
    )
    b.add_argument("--eval-batch-size", type=int, help="default: --batch-size")
    b.add_argument("--packed", type=int, default=0, metavar="K", help="also time K packed models")
    b.add_argument("--repeats", type=int, default=1, help="best of this many timed rounds")
    b.add_argument("--plain-train-steps", type=int, default=4)
    b.add_argument("--plain-eval-images", type=int, default=256)
    b.add_argument("--tf32", action="store_true", help="GPU: allow TF32 (default: strict fp32)")
    b.add_argument("--bf16", action="store_true", help="train under bf16 autocast (GPU option)")
    b.set_defaults(fn=_bench)

    tp = sub.add_parser(
        "train-packed",
        help="train one instance per init seed, packed into one model (same records)",
        description="Train the instances of --config that differ only by init_seed (e.g. the "
        "10 seeds of one ground-truth child) at once, stacked along channels; each seed's "
        "folder gets the records.csv and run.json `nas train` would write.",
    )
    tp.add_argument("--config", help="run config YAML (its init_seed is ignored)")
    tp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    tp.add_argument("--init-seeds", required=True, help="e.g. 0-9 or 0,3,5")
    tp.add_argument(
        "--out-template", required=True, help="run folder per seed, with {seed}: runs/s{seed}"
    )
    tp.add_argument("--groups", help="train these groups of the partition, e.g. 0-7")
    tp.add_argument("--checkpoint", help="resume state path (default: first folder's)")
    tp.add_argument("--manifest", help="write init_seed,records CSV here when done")
    tp.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    tp.add_argument("--partition-file", help=PARTITION_HELP)
    tp.add_argument("--die-with-parent", action="store_true", help=LIFELINE_HELP)
    tp.set_defaults(fn=_train_packed)

    it = sub.add_parser(
        "interference",
        help="measure interference between children and partition them into balanced groups",
        description="From a share-all run: the correlation of the children's accuracy changes "
        "before snapshot epoch --epoch (--source: its records.csv), or the cosine of their "
        "gradients at a snapshot (--source: the snapshot), as tidy CSV; `nas partition` "
        "splits the children by it.",
    )
    it.add_argument("--signal", required=True, choices=["correlation", "gradient"])
    it.add_argument("--source", required=True, help="records.csv or snapshot .pt")
    it.add_argument("--epoch", type=int, required=True, help="the snapshot epoch read")
    it.add_argument("--batches", type=int, default=4, help="gradient: mini-batches summed")
    it.add_argument("--out", required=True, help="similarity CSV to write")
    it.set_defaults(fn=_interference)

    pa = sub.add_parser(
        "partition",
        help="a balanced partition of the children into m groups from a similarity CSV",
    )
    pa.add_argument("--similarity", required=True, help="CSV of `nas interference`")
    pa.add_argument("--m", type=int, required=True, help="number of groups")
    pa.add_argument("--out", required=True, help="partition CSV to write (child,group)")
    pa.set_defaults(fn=_partition)

    pl = sub.add_parser("plan", help="jobs and estimated GPU-hours per experiment")
    pl.add_argument("configfile", nargs="+", help="study config(s), later ones override")
    pl.set_defaults(fn=_plan)

    nb = sub.add_parser(
        "nasbench201",
        help="NAS-Bench-201's published accuracies: the table's facts, its ground truth",
    )
    nb.add_argument(
        "--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet16-120"]
    )
    nb.add_argument(
        "--out", help="write the ground truth of every cell (results/ground_truth.csv's columns)"
    )
    nb.set_defaults(fn=_nasbench201)

    d = sub.add_parser("download", help="download a data set (on a machine with internet)")
    d.add_argument("name", choices=["cifar10"])
    d.add_argument("--root", default="data")
    d.set_defaults(fn=_download)

    sm = sub.add_parser(
        "submit",
        help="run Snakemake itself as a long, light SLURM job (the workflow's controller)",
        description="Submit `snakemake SNAKEMAKE_ARGS` (default: --profile profiles/slurm) as "
        "one SLURM job on $NAS_SLURM_PARTITION, charged to $NAS_SLURM_ACCOUNT; it submits the "
        "workflow's jobs as a login-node Snakemake would. Put Snakemake's options after --, "
        "e.g. nas submit -- --profile profiles/slurm results/ground_truth.csv",
    )
    sm.add_argument("--partition", help="CPU partition (default: $NAS_SLURM_PARTITION)")
    sm.add_argument("--account", help="account (default: $NAS_SLURM_ACCOUNT)")
    sm.add_argument("--hours", type=float, help="time limit (default 72, or the partition's max)")
    sm.add_argument("--cpus", type=int, default=2)
    sm.add_argument("--mem-gb", type=int, default=4)
    sm.add_argument("--folder", default="logs/submit", help="submitit folder (job logs)")
    sm.add_argument("--wait", action="store_true", help="wait for the controller to finish")
    sm.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="after --: snakemake's")
    sm.set_defaults(fn=_submit)
    for command in sub.choices.values():  # `nas train ... --debug` as well as `nas --debug`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user error (bad config, file or folder, full disk) is one line
    naming the key or file, exit status 2; --debug or NAS_DEBUG=1 shows the traceback."""
    args = build_parser().parse_args(argv)
    if getattr(args, "die_with_parent", False):
        from nas.run.lifeline import die_with_parent

        die_with_parent()
    try:
        return args.fn(args)
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside training: no traceback
        print(f"nas {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as err:  # ConfigError and CheckpointError are ValueErrors
        if args.debug or os.environ.get("NAS_DEBUG", "") not in ("", "0"):
            raise
        print(f"nas {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2


def one_line(err: Exception) -> str:
    """The error as one line, at most MAX_ERROR characters (a message that quotes a huge
    value is cut); an OSError names its file first."""
    if isinstance(err, OSError) and err.filename is not None:
        text = f"{err.filename}: {err.strerror or err}"
    else:
        text = str(err) or type(err).__name__
    text = " ".join(text[: 4 * MAX_ERROR].split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 5] + " ..."


MAX_ERROR = 2000


if __name__ == "__main__":
    sys.exit(main())
