"""Rule ensemble: fit a stack on its members' validation predictions; write its predictions of every split."""

import json

from impressions.data.clips import SHEET_SPLITS, read_manifest
from impressions.io.atomic import atomic_path, write_json, write_tsv
from impressions.io.runlog import rule_log
from impressions.models.ensemble import describe, ensemble
from impressions.models.metrics import read_predictions
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821
    task, members, settings = Task.from_params(snakemake.params.task), snakemake.params.members, snakemake.params.settings
    result = ensemble(
        {split: {m: read_predictions(path, task) for m, path in zip(members, snakemake.input[split])} for split in SHEET_SPLITS},
        task,
        excluded={m: read_manifest(path) for m, path in zip(members, snakemake.input.excluded)},
        min_val_clips=settings["min_val_clips"],
        folds=settings["folds"],
        alphas=settings["alphas"],
        Cs=settings["Cs"],
        seed=snakemake.params.seed,
    )
    fitted = describe(result.stack, task)
    log.info("%s of %s: %s", fitted["method"], ", ".join(members), fitted["reason"])
    for target, combiner in fitted["targets"].items():
        log.info("%s: %s", target, json.dumps(combiner))
    write_tsv(snakemake.output.excluded, result.excluded)
    for row in result.excluded.itertuples():
        log.info("excluded %s (%s): %s", row.clip_id, row.split, row.reason)
    for split, path in zip(SHEET_SPLITS, [*snakemake.output.predictions, snakemake.output.predict]):
        with atomic_path(path) as tmp:
            result.tables[split].to_csv(tmp, index=False, float_format="%.6f")
        log.info("%s: predicted %d clips", split, len(result.tables[split]))
    write_json(snakemake.output.stack, {**fitted, "clips": {split: len(table) for split, table in result.tables.items()}})
