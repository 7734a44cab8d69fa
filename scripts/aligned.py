"""Rule aligned: one shard's audio, video and text on one time axis (steps of aligned.step_s), in HDF5."""

from impressions.data.clips import read_manifest
from impressions.features.aligned_stage import aligned_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    manifest = read_manifest(snakemake.input.manifest)
    clips = manifest[manifest["shard"] == snakemake.wildcards.shard]
    aligned_cache(clips, snakemake.input.wav, snakemake.output[0], **snakemake.params.aligned, **snakemake.params.modalities, log=log.info)
