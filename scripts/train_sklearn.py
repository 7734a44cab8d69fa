"""Rule train_sklearn: fit one scikit-learn model (KNN) on its caches; write it and its predictions."""

from impressions.io.runlog import rule_log
from impressions.models import registry
from impressions.models.sklearn_fit import train_sklearn
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821
    name = snakemake.wildcards.sklearn_model
    train_sklearn(
        name,
        manifest=snakemake.input.manifest,
        caches={family: list(snakemake.input[family]) for family in registry.spec(name).families},
        settings=snakemake.params.settings,
        outputs=snakemake.output,
        task=Task.from_params(snakemake.params.task),
        memory_mb=snakemake.params.memory_mb,
        log=log.info,
    )
