"""Rule manifest: join the clip sheet with every shard's probe and audio decoding; list the clips left out."""

import pandas as pd

from impressions.data import clips as ds
from impressions.data.manifest import build_manifest
from impressions.io.atomic import write_tsv
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    sheet = ds.read_manifest(snakemake.input.sheet)
    probes = pd.concat([ds.read_probe(path) for path in snakemake.input.probes], ignore_index=True)
    failures = {clip_id: reason for folder in snakemake.input.wav for clip_id, reason in ds.decode_failures(folder).items()}
    manifest, excluded = build_manifest(sheet, probes, failures)
    log.info("%d clips in the sheet: %d in the manifest, %d left out", len(sheet), len(manifest), len(excluded))
    for split, count in manifest.groupby("split").size().items():
        log.info("  %s: %d clips", split, count)
    for row in excluded.itertuples():
        log.info("  excluded %s (%s) at %s: %s", row.clip_id, row.split, row.stage, row.reason)
    for row in manifest[manifest["note"] != ""].itertuples():
        log.info("  note %s: %s", row.clip_id, row.note)
    write_tsv(snakemake.output.manifest, manifest, exact=True)
    write_tsv(snakemake.output.excluded, excluded)
