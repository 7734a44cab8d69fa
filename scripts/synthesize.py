"""Rule synthesize_<dataset>: generate the embedded synthetic dataset of the configured kind."""

from pathlib import Path

from impressions.data import kinds
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    root = Path(snakemake.output[0]).parent  # output[0] is the dataset's ground_truth.json
    kinds.generator(snakemake.params.kind).generate(root, snakemake.params.synthetic, threads=snakemake.threads, log=log.info)
