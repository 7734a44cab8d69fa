"""Rule plot_training: one Keras model's loss and 1-MAE per epoch, training and validation."""

import pandas as pd

from impressions.io.runlog import rule_log
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    history = pd.read_csv(snakemake.input.history)
    log.info("%d epochs; best validation 1-MAE %.4f", len(history), history["val_one_minus_mae"].max())
    settings = snakemake.params.settings
    loss = f"{settings['loss'].upper()} loss" + (" (standardised targets)" if settings["standardize_targets"] else "")
    plots.save(plots.training_curves(history, snakemake.wildcards.keras_model, loss), snakemake.output[0])
