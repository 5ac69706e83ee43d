# Targets and paths: every file name the rules use is built here, from nas.study.plan.Study
# (jobs), nas.study.cost (their time limits) and nas.study.catalog (products).

import re
import shlex

from snakemake.utils import validate

from nas.core import safeyaml, studyconfig
from nas.study import catalog
from nas.study.cost import Cost
from nas.study import paths
from nas.study.paths import RESULTS, RUN_PATTERNS
from nas.study.plan import Study

# Snakemake's reader allows duplicate keys and any size; nas.core.studyconfig.check refuses alias
# bombs, non-finite numbers and unknown keys (naming the nearest known one), with a bounded
# excerpt of the value, before the schema's messages could quote it whole.
for _layer in workflow.configfiles:
    safeyaml.load_file(_layer)
studyconfig.check(config)
validate(config, "../schemas/config.schema.yaml", set_default=True)  # the only defaults
STUDY = Study(config)
STUDY.validate()  # every job's run config, before any job runs
COST = Cost(STUDY)  # device-hours per job: the SLURM time limits
JOBS = STUDY.all_jobs()
RUNS = f"{RESULTS}/{paths.RUNS}"
TABLES = f"{RESULTS}/{paths.FOLDERS['table']}"
FIGURES = f"{RESULTS}/{paths.FOLDERS['figure']}"
GROUND_TRUTH = f"{RESULTS}/{paths.GROUND_TRUTH}"
PLAN = f"{RESULTS}/{paths.PLAN}"


def results_file(path):
    """A file of nas.study.paths (relative to the results folder) as the rules name it."""
    return f"{RESULTS}/{path}"


def _alternatives(values):
    return "|".join(re.escape(v) for v in sorted(values)) or "(?!)"


def _values(name):
    """The values the planned jobs give a run-path wildcard (none: matches nothing)."""
    return _alternatives(STUDY.wildcards.get(name, ()))


wildcard_constraints:
    epochs=_values("epochs"),
    order=_values("order"),
    tag=_values("tag"),
    seed=_values("seed"),
    order_seed=_values("order_seed"),
    k=_values("k"),
    name=_values("name"),
    grouping=_values("grouping"),
    m=_values("m"),
    seeds=_values("seeds"),
    groups=_values("groups"),
    warm=_values("warm"),
    steps=_values("steps"),
    epoch=_alternatives(str(e) for e in STUDY.declared_snapshot_epochs()),
    signal=_alternatives(g for g in STUDY.measured_groupings()),


def producers(files):
    """The job outputs that write these records files: a seed-packed job's pack.csv for its
    members' records (Snakemake tracks one output per packed job)."""
    made_by = {
        f"{RUNS}/{member}/records.csv": f"{RUNS}/{job}/pack.csv"
        for member, job in STUDY.member_of.items()
    }
    return sorted({made_by.get(f, f) for f in files})


def under_results(files):
    """Files named relative to the results folder (nas.study.catalog), as the rules name them:
    {label: [instance: [file, ...]]}."""
    return {
        label: [[f"{RESULTS}/{f}" for f in inst] for inst in insts]
        for label, insts in catalog.labelled(files).items()
    }


def flat(files):
    return [f for insts in files.values() for inst in insts for f in inst]


def run_output(pattern, file="records.csv"):
    """A training rule's output: the run folder of RUN_PATTERNS[pattern], then `file`."""
    return f"{RUNS}/{RUN_PATTERNS[pattern]}/{file}"


def run_log(pattern):
    return f"logs/train/{RUN_PATTERNS[pattern]}.log"


_PATTERN_OF = {frozenset(re.findall(r"{(\w+)}", p)): k for k, p in RUN_PATTERNS.items()}


def job_of(wildcards):
    """The planned job a training rule's wildcards name (each pattern has its own set)."""
    pattern = _PATTERN_OF[frozenset(wildcards.keys())]
    path = RUN_PATTERNS[pattern].format(**dict(wildcards.items()))
    if path not in JOBS:
        raise ValueError(
            f"{RUNS}/{path} is not a run of this study's plan (see results/plan.csv)"
        )
    return JOBS[path]


def run_folder(wildcards):
    return f"{RUNS}/{job_of(wildcards).path}"


def train_args(wildcards):
    return job_args(job_of(wildcards).path)


def train_inputs(wildcards):
    """What a training job reads: the data, and a measured partition or the snapshots a warm
    start begins from (nas.study.plan.Job)."""
    job = job_of(wildcards)
    reads = ([job.partition] if job.partition else []) + list(job.snapshots)
    return data_inputs() + [f"{RESULTS}/{f}" for f in reads]


def job_args(path):
    """`nas train` arguments of one job: the study's base run config plus the job's overrides.
    Already shell-quoted (the rules insert them as {params.args}, without :q)."""
    job = JOBS[path]
    sets = [f"{k}={v}" for k, v in sorted(STUDY.base.items())] + job.sets()
    args = " ".join(f"--set {shlex.quote(s)}" for s in sets)
    if job.partition:
        args += f" --partition-file {shlex.quote(f'{RESULTS}/{job.partition}')}"
    return args + (f" --groups {shlex.quote(job.groups)}" if job.groups else "")


def packed_args(wildcards):
    """`nas train-packed` arguments: those of `nas train`, the seeds, the member folders."""
    job = job_of(wildcards)
    template = shlex.quote(f"{RUNS}/{job.path}/init{{seed}}")
    seeds = shlex.quote(job.seeds)
    return f"{job_args(job.path)} --init-seeds {seeds} --out-template {template}"


def job_hours(wildcards):
    return COST.job_hours(job_of(wildcards))


def job_priority(wildcards):
    """Longest chains first (estimated seconds of the job and of the longest training job
    that waits for it), so a long one does not start last and run alone."""
    path = job_of(wildcards).path
    return int((job_hours(wildcards) + COST.downstream_hours(path)) * 3600)


def job_runtime(wildcards, attempt):
    """Minutes asked from SLURM: 1.5x the estimate plus 10 min, more on each retry."""
    return int((job_hours(wildcards) * 60 * 1.5 + 10) * attempt)


def data_inputs():
    return [DATA_READY] if config["dataset"] == "cifar10" else []


def gt_files():
    """{"ground_truth": records per instance (one per seed)}; none with the paper's Table 5."""
    return under_results(catalog.ground_truth_runs(STUDY))


# Products (nas.study.catalog): a rule per kind builds the enabled products of that kind, reading
# each product's runs, and the report shows each product's own caption.


def product_names(kind):
    return _alternatives(p.name for p in catalog.enabled(STUDY, kind))


def product(kind, name, wildcards):
    """The catalog entry of a product job: its own name, or the {name} of a kind's rule."""
    return catalog.lookup(kind, name or wildcards.name)


def product_inputs(kind, name=None):
    """Named inputs of a product job: the jobs that write its records, and the ground truth."""

    def inputs(wildcards):
        runs = flat(under_results(product(kind, name, wildcards).runs(STUDY)))
        return {"runs": producers(runs), "ground_truth": GROUND_TRUTH}

    return inputs


def product_files(kind, name=None):
    """A product's records files per label and instance, for its script (params)."""
    return lambda wildcards: under_results(product(kind, name, wildcards).runs(STUDY))


def product_caption(kind, name=None):
    """The report's caption of a product (workflow/report/product.rst shows it)."""
    return lambda wildcards: product(kind, name, wildcards).report_caption()


def all_targets():
    outputs = [f for p in catalog.enabled(STUDY) for f in p.outputs()]
    return [PLAN] + [f"{RESULTS}/{f}" for f in outputs]


# Snapshots (workflow/rules/finetune.smk)


def snapshot_run(wildcards):
    """The run folder a snapshot rule's wildcards name (those of a share-all run, and epoch)."""
    return f"{RUNS}/{job_of({k: v for k, v in wildcards.items() if k != 'epoch'}).path}"


# A by-product of a run declared as a file of its own (snapshot, telemetry rules)
LINK_OR_COPY = (
    "ln -f {params.written:q} {output:q} 2> {log:q} || "
    "cp {params.written:q} {output:q} 2>> {log:q}"
)


def finetune_source(wildcards):
    """The "different seeds" instance a finetuning job's seed names."""
    return STUDY.seed_instances()[int(wildcards.seed)]


def snapshot_of(path, epoch):
    """The declared snapshot file of share-all run `path` at `epoch`."""
    return results_file(paths.snapshot_file(path, epoch))


# Measured partitions (workflow/rules/interference.smk)


def interference_epoch():
    return STUDY.interference_epoch() if STUDY.enabled("interference") else 0


def interference_source(wildcards):
    """What a signal reads from the first "different seeds" instance: its records
    (correlation) or its snapshot at the interference epoch (gradient)."""
    path = STUDY.reference_run()
    if wildcards.signal == "gradient":
        return snapshot_of(path, interference_epoch())
    return producers([f"{RUNS}/{path}/records.csv"])
