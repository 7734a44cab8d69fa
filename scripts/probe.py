"""Rule probe: ffprobe every clip of a shard and record media-level exclusions."""

from impressions.data import clips as ds
from impressions.data import manifest
from impressions.io.atomic import write_tsv
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    clips = [ds.Clip(clip_id, split, path) for clip_id, split, path in snakemake.params.clips]
    probes = manifest.probe_shard(clips, shard=snakemake.wildcards.shard, min_duration_s=snakemake.params.min_duration_s, log=log.info)
    log.info("%d clips probed, %d usable", len(probes), int((probes["reason"] == "").sum()))
    write_tsv(snakemake.output[0], probes)
