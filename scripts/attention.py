"""Rule attention: one sequence model's attention over time for each output's top clips, as JSON and galleries."""

from impressions.cam.attention import write_attention
from impressions.data.ground_truth import read_ground_truth
from impressions.io.runlog import rule_log
from impressions.models import registry
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821
    write_attention(
        snakemake.wildcards.attention_model,
        model_path=snakemake.input.model,
        manifest=snakemake.input.manifest,
        caches={family: list(snakemake.input[family]) for family in registry.spec(snakemake.wildcards.attention_model).families},
        predictions=list(snakemake.input.predictions),
        settings=snakemake.params.settings,
        cam_settings=snakemake.params.cam,
        ground_truth=read_ground_truth(snakemake.input.ground_truth),
        outputs=snakemake.output,
        threads=snakemake.threads,
        task=Task.from_params(snakemake.params.task),
        log=log.info,
    )
