"""Rule submission: the unlabelled clips (the predict split) as the best validation model predicts them."""

import json

import pandas as pd

from impressions.data.clips import read_manifest
from impressions.io.atomic import atomic_path
from impressions.io.runlog import rule_log
from impressions.models.submission import best_model, submission, validation_score
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821
    task = Task.from_params(snakemake.params.task)
    metrics = {}
    for model, path in zip(snakemake.params.models, snakemake.input.metrics):
        with open(path) as handle:
            metrics[model] = json.load(handle)
    chosen = best_model(metrics, task)
    log.info("best on validation by %s: %s (%s)", task.metric, chosen, ", ".join(f"{m} {validation_score(r, task):.4f}" for m, r in metrics.items()))
    predictions = pd.read_csv(dict(zip(snakemake.params.models, snakemake.input.predictions))[chosen])
    table = submission(predictions, read_manifest(snakemake.input.sheet), task, snakemake.params.file_column)
    missing = int(table[list(task.targets)].isna().any(axis=1).sum())
    log.info("%d unlabelled clips, %d without a prediction (see excluded.tsv and the model's excluded.tsv)", len(table), missing)
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
