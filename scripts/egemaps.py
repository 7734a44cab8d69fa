"""Rule egemaps: the 88 eGeMAPS v02 functionals (openSMILE) of every usable clip of a shard, in HDF5."""

from impressions.data.clips import decoded_clips
from impressions.features.egemaps import egemaps_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    egemaps_cache(decoded_clips(snakemake.input.probe, snakemake.input.wav), snakemake.input.wav, snakemake.output[0], log=log.info)
