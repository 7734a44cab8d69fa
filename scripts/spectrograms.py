"""Rule spectrograms: seed 001's clip and summary spectrograms of a shard, from its log-mel cache."""

from impressions.features.audio_stage import spectrogram_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    settings = snakemake.params.spectrogram
    spectrogram_cache(snakemake.input.logmel, snakemake.output[0], seconds=settings["seconds"], pool=settings["summary_pool"], log=log.info)
