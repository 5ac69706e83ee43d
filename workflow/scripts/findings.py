"""The paper's observations with verdicts on this run (results/findings.csv and .md)."""

import sys

from nas.products import make_findings

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
make_findings(sm.params.instances, sm.input[-1], sm.output.csv, sm.output.md, sm.config)
