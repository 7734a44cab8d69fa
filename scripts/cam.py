"""Rule cam: one CAM model's maps of each trait's top clips, as HDF5, galleries and profiles."""

import json

from impressions.cam_run import write_cams
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    ground_truth = None
    if snakemake.input.ground_truth:
        with open(snakemake.input.ground_truth[0]) as handle:
            ground_truth = json.load(handle)
    write_cams(
        snakemake.wildcards.cam_model,
        model_path=snakemake.input.model,
        manifest=snakemake.input.manifest,
        caches=list(snakemake.input.caches),
        predictions=list(snakemake.input.predictions),
        wav_dirs=list(snakemake.input.wav),
        settings=snakemake.params.settings,
        cam_settings=snakemake.params.cam,
        ground_truth=ground_truth,
        outputs=snakemake.output,
        log=log.info,
    )
