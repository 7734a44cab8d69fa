"""Rule plot_class_f1: the per-class F1 of every model on the test split, side by side, against the
class-prior guess and (synthetic data) the Bayes classifier."""

import json

from impressions.io.runlog import rule_log
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    metrics = {}
    for model, path in zip(snakemake.params.models, snakemake.input.metrics):
        with open(path) as handle:
            metrics[model] = json.load(handle)
    log.info("per-class F1 on the test split of %s", ", ".join(metrics))
    plots.save(plots.class_f1(metrics, "test"), snakemake.output[0])
