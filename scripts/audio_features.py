"""Rule audio_features: VGGish log-mel examples and MFCCs of every clip of a shard, in HDF5."""

from impressions import audio
from impressions.dataset import read_probe
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    usable = read_probe(snakemake.input.probe).query("reason == ''")
    audio.feature_cache(
        list(usable["clip_id"]),
        snakemake.input.wav,
        snakemake.output[0],
        sample_rate=snakemake.params.sample_rate,
        n_mfcc=snakemake.params.n_mfcc,
        log=log.info,
    )
