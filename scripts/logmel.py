"""Rule logmel: the VGGish log-mel examples of every decoded clip of a shard, in HDF5."""

from impressions.data.clips import decoded_clips
from impressions.features.audio_stage import logmel_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    logmel_cache(decoded_clips(snakemake.input.probe, snakemake.input.wav), snakemake.input.wav, snakemake.output[0], log=log.info)
