"""Rule embed: VGGish embeddings of every clip of a shard, batched across clips."""

from impressions.features import embed_stage
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    settings = {key: snakemake.params.vggish[key] for key in ("source", "hub_handle", "seed", "batch_size")}
    embed_stage.embedding_cache(
        snakemake.input.logmel,
        snakemake.input.wav,
        snakemake.output[0],
        savedmodel=snakemake.input.model[0] if snakemake.input.model else None,
        threads=snakemake.threads,
        log=log.info,
        **settings,
    )
