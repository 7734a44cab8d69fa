"""Rule train_knn: scaler + k nearest neighbours on per-window VGGish embeddings (seed 004)."""

from impressions.knn import train_knn
from impressions.inputs import INPUTS
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    train_knn(
        snakemake.wildcards.model,
        manifest=snakemake.input.manifest,
        caches={family: list(snakemake.input[family]) for family in INPUTS["knn"].families},
        settings=snakemake.params.settings,
        outputs=snakemake.output,
        log=log.info,
    )
