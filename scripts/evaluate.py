"""Rule evaluate: 1-MAE, MAE and R^2 per split and trait, against the train-mean baseline and the ceiling."""

import pandas as pd

from impressions import SPLITS
from impressions.data.ground_truth import bayes_predictions, read_ground_truth
from impressions.io.atomic import write_json
from impressions.io.runlog import rule_log
from impressions.models.metrics import evaluate

with rule_log(snakemake) as log:  # noqa: F821
    predictions = {split: pd.read_csv(path) for split, path in zip(SPLITS, snakemake.input.predictions)}
    ceiling, truth = None, read_ground_truth(snakemake.input.ground_truth)
    if truth is not None:
        ceiling = pd.DataFrame.from_dict(bayes_predictions(truth), orient="index")
        log.info("ceiling: the synthetic generator's Bayes predictor, on the same clips")
    metrics = evaluate(predictions, ceiling=ceiling)
    metrics["model"] = snakemake.wildcards.model
    for split, result in metrics["splits"].items():
        yardsticks = ", ".join(f"{who} {result[who]['mean']['one_minus_mae']:.4f}" for who in ("baseline", "ceiling") if who in result)
        log.info("%s: %d clips, mean 1-MAE %.4f (%s)", split, result["n_clips"], result["model"]["mean"]["one_minus_mae"], yardsticks)
    write_json(snakemake.output[0], metrics)
