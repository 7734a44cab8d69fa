"""Rule plot_predictions: one model's predicted against true score per trait on the test split."""

import pandas as pd

from impressions.io.runlog import rule_log
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    predictions = pd.read_csv(snakemake.input.predictions)
    log.info("%d test clips", len(predictions))
    plots.save(plots.predicted_vs_true(predictions, snakemake.wildcards.model, "test"), snakemake.output[0])
