"""Rule plot_predictions: one model on the test split: predicted against true score per trait
(regression), or the confusion matrix, counts and normalised per true class (classification)."""

from impressions.io.runlog import rule_log
from impressions.models.metrics import read_predictions
from impressions.models.task import Task
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    task = Task.from_params(snakemake.params.task)
    predictions = read_predictions(snakemake.input.predictions, task)
    log.info("%d test clips", len(predictions))
    model = snakemake.wildcards.model
    figure = plots.confusion_matrices(predictions, task, model, "test") if task.classification else plots.predicted_vs_true(predictions, model, "test")
    plots.save(figure, snakemake.output[0])
