"""Rule evaluate: 1-MAE, MAE and R^2 per split and trait, against the train-mean baseline."""

import pandas as pd

from impressions import SPLITS
from impressions.atomic import write_json
from impressions.metrics import evaluate
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    predictions = {split: pd.read_csv(path) for split, path in zip(SPLITS, snakemake.input.predictions)}
    metrics = evaluate(predictions)
    metrics["model"] = snakemake.wildcards.model
    for split, result in metrics["splits"].items():
        log.info(
            "%s: %d clips, mean 1-MAE %.4f (baseline %.4f)",
            split, result["n_clips"], result["model"]["mean"]["one_minus_mae"], result["baseline"]["mean"]["one_minus_mae"],
        )
    write_json(snakemake.output[0], metrics)
