"""Rule evaluate: the model's metrics per split against its yardsticks (regression: 1-MAE, MAE and R^2
against the train mean and the noise ceiling; classification: accuracy, F1 and the confusion matrix
against the majority class, the class-prior guess and the Bayes classifier), with bootstrap
intervals of the headline metric and of its difference to the baseline."""

import pandas as pd

from impressions import SPLITS
from impressions.data.ground_truth import bayes_posteriors, bayes_predictions, read_ground_truth
from impressions.io.atomic import write_json
from impressions.io.runlog import rule_log
from impressions.models.metrics import YARDSTICKS, evaluate, headline, read_predictions
from impressions.models.task import Task

with rule_log(snakemake) as log:  # noqa: F821
    task = Task.from_params(snakemake.params.task)
    predictions = {split: read_predictions(path, task) for split, path in zip(SPLITS, snakemake.input.predictions)}
    ceiling, truth = None, read_ground_truth(snakemake.input.ground_truth)
    if truth is not None and task.classification:
        ceiling = bayes_posteriors(truth, task.target)
        found = "the synthetic generator's Bayes classifier, on the same clips"
        log.info("bayes: %s", found if ceiling is not None else f"none, the ground truth holds no posterior of {task.target}")
    elif truth is not None:
        ceiling = pd.DataFrame.from_dict(bayes_predictions(truth), orient="index")
        log.info("ceiling: the synthetic generator's Bayes predictor, on the same clips")
    metrics = evaluate(predictions, task=task, ceiling=ceiling, resampling=dict(snakemake.params.resampling))
    metrics["model"] = snakemake.wildcards.model
    name = task.metric if task.classification else "mean 1-MAE"
    for split, result in metrics["splits"].items():
        yardsticks = ", ".join(f"{who} {headline(result[who], task):.4f}" for who in YARDSTICKS[task.type] if who in result)
        log.info("%s: %d clips, %s %.4f (%s)", split, result["n_clips"], name, headline(result["model"], task), yardsticks)
        if "bootstrap" in result:
            interval, difference = result["bootstrap"]["model"], result["bootstrap"]["difference_interval"]
            log.info("%s: %g%% interval [%.4f, %.4f], against the baseline [%+.4f, %+.4f]", split, 100 * result["bootstrap"]["level"], *interval, *difference)
    write_json(snakemake.output[0], metrics)
