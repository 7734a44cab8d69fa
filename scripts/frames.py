"""Rule frames: a few evenly spaced frames of every usable clip of a shard, in HDF5."""

from impressions.data.clips import read_probe
from impressions.features import video_stage
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    usable = read_probe(snakemake.input.probe).query("reason == ''")
    video_stage.frame_cache(usable, snakemake.output[0], threads=snakemake.threads, log=log.info, **snakemake.params.frames)
