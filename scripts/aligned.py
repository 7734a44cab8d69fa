"""Rule aligned: one shard's audio, video and text on one time axis (steps of aligned.step_s), in HDF5."""

from impressions.data.clips import decoded_clips, read_manifest, read_probe
from impressions.features.aligned_stage import aligned_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    probe = read_probe(snakemake.input.probe).set_index("clip_id")
    clips = probe.loc[decoded_clips(snakemake.input.probe, snakemake.input.wav), ["path", "duration_s"]].reset_index()
    if snakemake.input.sheet:  # the utterances' text, from the clip sheet
        clips["text"] = read_manifest(snakemake.input.sheet[0]).set_index("clip_id")["text"].reindex(clips["clip_id"]).to_numpy()
    aligned_cache(clips, snakemake.input.wav, snakemake.output[0], **snakemake.params.aligned, **snakemake.params.modalities, log=log.info)
