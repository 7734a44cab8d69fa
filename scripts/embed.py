"""Rule embed: VGGish embeddings of every clip of a shard, batched across clips."""

from impressions import embeddings
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    embeddings.embedding_cache(
        snakemake.input.logmel, snakemake.input.wav, snakemake.output[0], threads=snakemake.threads, log=log.info, **snakemake.params.vggish
    )
