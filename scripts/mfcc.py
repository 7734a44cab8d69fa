"""Rule mfcc: MFCCs and the log-mel spectrogram in dB of every usable clip of a shard, in HDF5."""

from impressions.data.clips import decoded_clips
from impressions.features.audio_stage import mfcc_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    mfcc_cache(decoded_clips(snakemake.input.probe, snakemake.input.wav), snakemake.input.wav, snakemake.output[0], log=log.info, **snakemake.params.mfcc)
