"""Rule train: fit one model on its caches; write the model, its history and its predictions."""

from impressions import train
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    train.train_model(
        snakemake.wildcards.model,
        manifest=snakemake.input.manifest,
        caches=snakemake.input.caches,
        settings=snakemake.params.settings,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        outputs=snakemake.output,
        log=log.info,
    )
