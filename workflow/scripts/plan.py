"""Write the planning summary (jobs and estimated GPU-hours per experiment) as a CSV, and the
same table, readable, into the rule's log."""

import sys

import pandas as pd

from nas.core.records import atomic_write_text
from nas.study.cost import Cost
from nas.study.plan import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
table = pd.DataFrame(Cost(Study(sm.config)).summary())
atomic_write_text(sm.output[0], table.to_csv(index=False))
print(table.to_string(index=False), file=sys.stderr)
