# Targets and paths: every file name the rules use is built here, from nas.plan.Study.

import re
import shlex

from snakemake.utils import validate

from nas.plan import Study

validate(config, "../schemas/config.schema.yaml")
STUDY = Study(config)
STUDY.validate()  # every job's run config, before any job runs
JOBS = STUDY.all_jobs()
RESULTS = "results"
RUNS = f"{RESULTS}/runs"
TABLES = f"{RESULTS}/tables"
FIGURES = f"{RESULTS}/figures"
GROUND_TRUTH = f"{RESULTS}/ground_truth.csv"
TRAINED_GT = config.get("ground_truth", "trained") == "trained"


def _alternatives(paths):
    return "|".join(re.escape(path) for path in sorted(paths)) or "(?!)"


wildcard_constraints:
    run=_alternatives(p for p, job in JOBS.items() if not job.seeds),
    pack=_alternatives(p for p, job in JOBS.items() if job.seeds),
    name="[A-Za-z0-9_]+",


def records(paths):
    """Records files of runs (a list of run paths, or a list of instances of them)."""
    if paths and isinstance(paths[0], list):
        return [p for inst in paths for p in records(inst)]
    return [f"{RUNS}/{p}/records.csv" for p in paths]


def producers(files):
    """The job outputs that write these records files: a seed-packed job's pack.csv for its
    members' records (Snakemake tracks one output per packed job)."""
    made_by = {
        f"{RUNS}/{member}/records.csv": f"{RUNS}/{job}/pack.csv"
        for member, job in STUDY.member_of.items()
    }
    return sorted({made_by.get(f, f) for f in files})


def instances(paths_per_instance):
    """Records files grouped by instance, for scripts (params)."""
    return [
        records(inst if isinstance(inst, list) else [inst])
        for inst in paths_per_instance
    ]


def train_args(wildcards):
    return job_args(wildcards.run)


def job_args(path):
    """`nas train` arguments of one job: the study's base run config plus the job's overrides.
    Already shell-quoted (the rules insert them as {params.args}, without :q)."""
    job = JOBS[path]
    sets = [f"{k}={v}" for k, v in sorted(STUDY.base.items())] + job.sets()
    args = " ".join(f"--set {shlex.quote(s)}" for s in sets)
    return args + (f" --groups {shlex.quote(job.groups)}" if job.groups else "")


def packed_args(wildcards):
    """`nas train-packed` arguments: those of `nas train`, the seeds, the member folders."""
    job = JOBS[wildcards.pack]
    template = shlex.quote(f"{RUNS}/{job.path}/init{{seed}}")
    seeds = shlex.quote(job.seeds)
    return f"{job_args(job.path)} --init-seeds {seeds} --out-template {template}"


def job_hours(wildcards):
    path = wildcards.get("run") or wildcards.pack
    return STUDY.job_cost_hours(JOBS[path], *STUDY.sizes())


def job_priority(wildcards):
    """Longest jobs first (estimated seconds), so a long one does not start last and run alone."""
    return int(job_hours(wildcards) * 3600)


def job_runtime(wildcards, attempt):
    """Minutes asked from SLURM: 1.5x the estimate plus 10 min, more on each retry."""
    return int((job_hours(wildcards) * 60 * 1.5 + 10) * attempt)


def data_inputs():
    return [DATA_READY] if config["dataset"] == "cifar10" else []


def gt_instances():
    """Ground-truth instances (one per seed) as lists of job paths; none if from the paper."""
    return STUDY.ground_truth() if TRAINED_GT else []


def table_files(name):
    return multiext(f"{TABLES}/{name}", ".csv", ".md", ".tex")


def figure_files(name):
    return multiext(f"{FIGURES}/{name}", ".png", ".pdf")


def enabled_tables():
    names = ["table1", "table2", "intext"] + (["table5"] if TRAINED_GT else [])
    if STUDY.enabled("groups"):
        names.append("table3a")
    if STUDY.enabled("prefix"):
        names += ["table3b", "table4", "prefix_curve"]
    return names


def enabled_figures():
    names = ["figure2", "figure3", "figure5"]
    for name, exp in [
        ("figure4", "finetune"),
        ("prefix_curve", "prefix"),
        ("figure6", "groups"),
        ("figure7", "long"),
        ("figure8", "bn_momentum"),
        ("figure9", "sgd_momentum"),
    ]:
        if STUDY.enabled(exp):
            names.append(name)
    return sorted(names)


def all_targets():
    out = [f"{RESULTS}/plan.csv"]
    for name in enabled_tables():
        out += table_files(name)
    for name in enabled_figures():
        out += figure_files(name)
    return out + [f"{RESULTS}/findings.csv", f"{RESULTS}/findings.md"]


# What each table or figure reads: {label: [instance: [records file, ...], ...]}. The
# experiment rule files (supernet, ground_truth, groups, prefix, finetune) register theirs.
PRODUCTS = {}


def family_instances():
    """Share-all families of Tables 1-2 (the enabled ones), as records files per instance."""
    return {
        name: instances(STUDY.family(name))
        for name in ("different_seeds", "different_orders", "different_orders_shuffle")
        if STUDY.enabled(name)
    }


def product_params(wildcards):
    return PRODUCTS[wildcards.name]()


def product_files(name):
    """The job outputs and the ground truth that a product reads."""
    files = [f for insts in PRODUCTS[name]().values() for inst in insts for f in inst]
    return producers(files) + [GROUND_TRUTH]


def product_inputs(wildcards):
    return product_files(wildcards.name)


def findings_instances():
    """Every experiment's records, labelled '<experiment>:<key>' for nas.products."""
    out = {f"family:{k}": v for k, v in family_instances().items()}
    out["ground_truth"] = instances(gt_instances())
    if STUDY.enabled("groups"):
        for (grouping, m), insts in STUDY.groups().items():
            out[f"groups:{grouping}/{m}"] = [records(inst) for inst in insts]
    if STUDY.enabled("prefix"):
        for (epochs, k), paths in STUDY.prefix_instances().items():
            out[f"prefix:{epochs}/{k}"] = instances(paths)
    for epoch in STUDY.finetune_epochs():
        out[f"finetune:{epoch}"] = [[f"{FINETUNE}/epoch{epoch}.csv"]]
    if STUDY.enabled("long"):
        out["long"] = instances([STUDY.long_run()])
    if STUDY.enabled("bn_momentum"):
        for value, paths in STUDY.bn_runs().items():
            out[f"bn:{value}"] = instances(paths)
    if STUDY.enabled("sgd_momentum"):
        for value, path in STUDY.sgd_runs().items():
            out[f"sgd:{value}"] = instances([path])
    return out
