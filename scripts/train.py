"""Rule train: fit one Keras model on its caches; write the model, its history and its predictions."""

import json

from impressions.io.runlog import rule_log
from impressions.models import registry, train
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    name = snakemake.wildcards.keras_model
    settings = dict(snakemake.params.settings)
    if "mfcc_length" in snakemake.input.keys():
        with open(snakemake.input.mfcc_length) as handle:
            settings["mfcc_length"] = json.load(handle)["frames"]
    train.train_model(
        name,
        manifest=snakemake.input.manifest,
        caches={family: list(snakemake.input[family]) for family in registry.spec(name).families},
        settings=settings,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        outputs=snakemake.output,
        init_model=snakemake.input.get("init_model"),
        task=Task.from_params(snakemake.params.task),
        memory_mb=snakemake.params.memory_mb,
        log=log.info,
    )
