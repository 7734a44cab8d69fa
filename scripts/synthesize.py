"""Rule synthesize: generate the embedded synthetic First-Impressions-style dataset."""

from impressions import synth
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    synth.generate(snakemake.params.root, snakemake.params.synthetic, threads=snakemake.threads, log=log.info)
