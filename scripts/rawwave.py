"""Rule rawwave: the 4 kHz raw-wave FFT features of every usable clip of a shard, in HDF5."""

from impressions.data.clips import decoded_clips
from impressions.features.audio_stage import rawwave_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    rawwave_cache(decoded_clips(snakemake.input.probe, snakemake.input.wav), snakemake.input.wav, snakemake.output[0], log=log.info, **snakemake.params.rawwave)
