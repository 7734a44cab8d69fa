"""Rule text: one shard's TF-IDF cache, with the vectorizer fitted on the training split."""

from impressions.data.clips import read_manifest
from impressions.features.text_stage import write_text_cache
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    manifest = read_manifest(snakemake.input.manifest)
    write_text_cache(manifest, snakemake.wildcards.shard, snakemake.output[0], snakemake.input.vectorizer, dict(snakemake.params.text), log=log.info)
