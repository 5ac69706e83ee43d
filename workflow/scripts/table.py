"""One of the paper's tables, with the published values beside ours."""

import sys
from pathlib import Path

from nas.products import make_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
stem = Path(sm.output[0]).with_suffix("")
make_table(sm.wildcards.name, sm.params.instances, sm.input[-1], stem, sm.config)
