"""Write the planning summary (jobs and estimated GPU-hours per experiment) as a CSV."""

import pandas as pd

from nas.plan import Study

rows = Study(snakemake.config).summary()  # noqa: F821 (snakemake injects it)
pd.DataFrame(rows).to_csv(snakemake.output[0], index=False)  # noqa: F821
