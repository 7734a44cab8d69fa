"""Rule wav: decode every usable clip of a shard to 16 kHz mono PCM wav."""

from impressions.data.clips import read_probe
from impressions.data.media import decode_shard
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    usable = read_probe(snakemake.input.probe).query("reason == ''")
    decode_shard(
        dict(zip(usable["clip_id"], usable["path"])),
        snakemake.output[0],
        sample_rate=snakemake.params.sample_rate,
        min_duration_s=snakemake.params.min_duration_s,
        threads=snakemake.threads,
        log=log.info,
    )
