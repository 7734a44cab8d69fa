"""Rule cam: one CAM model's maps of each trait's top clips, as HDF5, galleries and profiles."""

from impressions.cam.stage import write_cams
from impressions.data.ground_truth import read_ground_truth
from impressions.io.runlog import rule_log
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821
    write_cams(
        snakemake.wildcards.cam_model,
        model_path=snakemake.input.model,
        manifest=snakemake.input.manifest,
        caches=list(snakemake.input.caches),
        predictions=list(snakemake.input.predictions),
        wav_dirs=list(snakemake.input.wav),
        settings=snakemake.params.settings,
        cam_settings=snakemake.params.cam,
        ground_truth=read_ground_truth(snakemake.input.ground_truth),
        outputs=snakemake.output,
        threads=snakemake.threads,
        task=Task.from_params(snakemake.params.task),
        log=log.info,
    )
