"""One product of nas.study.catalog (a table, a figure, the findings) from its runs' records."""

import sys
from pathlib import Path

from nas.study import catalog

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
product = catalog.lookup(sm.params.kind, sm.params.name)
stem = Path(sm.output[0]).with_suffix("")
catalog.build(product, sm.params.files, sm.input.ground_truth, stem, sm.config)
