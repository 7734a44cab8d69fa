"""Regression metrics on prediction tables: 1-MAE, MAE and R^2 per trait, and the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, r2_score

from impressions import TRAITS


def true_column(target: str) -> str:
    return f"{target}_true"


def pred_column(target: str) -> str:
    return f"{target}_pred"


def prediction_table(clip_ids, y_true: np.ndarray, y_pred: np.ndarray, targets=TRAITS) -> pd.DataFrame:
    """The predictions file: clip_id, then the true and the predicted value of every target."""
    table = {"clip_id": list(clip_ids)}
    for i, target in enumerate(targets):
        table[true_column(target)] = y_true[:, i]
    for i, target in enumerate(targets):
        table[pred_column(target)] = y_pred[:, i]
    return pd.DataFrame(table)


def score(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """1-MAE, MAE and R^2 of one target, plus the spread of predictions against the labels'."""
    mae = float(mean_absolute_error(y_true, y_pred))
    r2 = float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan")
    return {
        "one_minus_mae": 1.0 - mae,
        "mae": mae,
        "r2": r2,
        "pred_std": float(np.std(y_pred)),
        "label_std": float(np.std(y_true)),
    }


def _mean_of(per_target: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = next(iter(per_target.values())).keys()
    return {key: float(np.mean([m[key] for m in per_target.values()])) for key in keys}


def evaluate(predictions: dict[str, pd.DataFrame], targets=TRAITS, ceiling: pd.DataFrame | None = None) -> dict:
    """Metrics per split, per target and averaged over targets, for the model and its yardsticks.

    The baseline predicts, for every clip, the mean label of the training split (taken from the
    train predictions table), which scores about 0.88 mean 1-MAE on ChaLearn. The ceiling, when
    the best possible predictions are known (the synthetic dataset's Bayes predictor), is
    scored on the same clips as the model.

    Parameters
    ----------
    ceiling : the best possible prediction of every target, indexed by clip id, or None

    Returns
    -------
    dict: {"splits": {split: {"n_clips", "model": {target | "mean": metrics}, "baseline": {...}
    [, "ceiling": {...}]}}, "train_means", "targets"}
    """
    if "train" not in predictions:
        raise ValueError("the train predictions are needed for the train-mean baseline")
    train_means = {t: float(predictions["train"][true_column(t)].mean()) for t in targets}
    result = {}
    for split, table in predictions.items():
        model = {t: score(table[true_column(t)].to_numpy(), table[pred_column(t)].to_numpy()) for t in targets}
        baseline = {t: score(table[true_column(t)].to_numpy(), np.full(len(table), train_means[t])) for t in targets}
        model["mean"] = _mean_of(model)
        baseline["mean"] = _mean_of(baseline)
        result[split] = {"n_clips": int(len(table)), "model": model, "baseline": baseline}
        if ceiling is not None:
            best = ceiling.loc[table["clip_id"]]
            result[split]["ceiling"] = {t: score(table[true_column(t)].to_numpy(), best[t].to_numpy()) for t in targets}
            result[split]["ceiling"]["mean"] = _mean_of(result[split]["ceiling"])
    return {"splits": result, "train_means": train_means, "targets": list(targets)}
