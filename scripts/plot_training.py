"""Rule plot_training: one Keras model's loss and its task's metric per epoch, training and validation."""

import pandas as pd

from impressions.io.runlog import rule_log
from impressions.models.task import Task
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    task = Task.from_params(snakemake.params.task)
    history = pd.read_csv(snakemake.input.history)
    watched = f"val_{task.metric}"
    log.info("%d epochs; best validation %s %.4f", len(history), "1-MAE" if watched == "val_one_minus_mae" else task.metric, history[watched].max())
    settings = snakemake.params.settings
    if task.classification:
        loss = f"cross-entropy loss ({task.class_weights} class weights)"
    else:
        loss = f"{settings['loss'].upper()} loss" + (" (standardised targets)" if settings["standardize_targets"] else "")
    plots.save(plots.training_curves(history, snakemake.wildcards.keras_model, loss, task), snakemake.output[0])
