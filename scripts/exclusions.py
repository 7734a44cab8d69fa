"""Rule exclusions: excluded.tsv, every file and label left out (sheet, probe, decoding) and every
clip that a feature stage could not compute, each with its stage and reason."""

from collections import defaultdict
from pathlib import Path

from impressions.data import clips as ds
from impressions.data.manifest import account
from impressions.io.atomic import write_tsv
from impressions.io.cache import CacheReader
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    failures: dict[str, dict[str, str]] = defaultdict(dict)
    for path in snakemake.input.caches:
        with CacheReader(path) as cache:
            failures[Path(path).parent.name].update(cache.failed)
    manifest = ds.read_manifest(snakemake.input.manifest)
    excluded = account(manifest, [ds.read_manifest(snakemake.input.sheet), ds.read_manifest(snakemake.input.media)], failures, snakemake.params.n_shards)
    for stage, count in excluded.groupby("stage").size().items():
        log.info("  %s: %d left out", stage, count)
    write_tsv(snakemake.output[0], excluded)
