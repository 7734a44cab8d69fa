"""Rule manifest: join every shard's probe with the (safely loaded) labels; list exclusions."""

import pandas as pd

from impressions import SPLITS
from impressions.data import clips as ds
from impressions.data.manifest import build_manifest, read_labels
from impressions.io.atomic import write_tsv
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    probes = pd.concat([ds.read_probe(path) for path in snakemake.input.probes], ignore_index=True)
    labels = read_labels(dict(zip(SPLITS, snakemake.input.annotations)))
    manifest, excluded = build_manifest(probes, labels)
    log.info("%d clips: %d in the manifest, %d excluded", len(probes), len(manifest), len(excluded))
    for split, count in manifest.groupby("split").size().items():
        log.info("  %s: %d clips", split, count)
    for row in excluded.itertuples():
        log.info("  excluded %s (%s): %s", row.clip_id, row.split, row.reason)
    write_tsv(snakemake.output.manifest, manifest)
    write_tsv(snakemake.output.excluded, excluded)
