"""Metrics of prediction tables, with the yardsticks every model is read against.

Regression: 1-MAE, MAE and R^2 per target, against the train-mean baseline and (synthetic data)
the noise ceiling. Classification: accuracy, balanced accuracy, weighted and macro F1, per-class
precision, recall and F1, and the confusion matrix, against the majority class, the class-prior
guess and (synthetic data) the Bayes classifier. Everything is computed by `sklearn.metrics`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
)

from impressions import TRAITS
from impressions.models import bootstrap
from impressions.models.task import FIRST_IMPRESSIONS, Task


def true_column(target: str) -> str:
    return f"{target}_true"


def pred_column(target: str) -> str:
    return f"{target}_pred"


def prob_column(cls: str) -> str:
    return f"p_{cls}"


def prediction_table(clip_ids, y_true: np.ndarray | None, y_pred: np.ndarray, task: Task = FIRST_IMPRESSIONS) -> pd.DataFrame:
    """The predictions file: clip_id, then the true and the predicted value of every target.

    Classification: ``<target>_true`` and ``<target>_pred`` hold class names (the prediction is
    the most probable class), then ``p_<class>`` the predicted probability of every class;
    `y_true` is one-hot and `y_pred` the class probabilities, both (clips, classes). Unlabelled
    clips (`y_true` None) get no ``_true`` columns.
    """
    table = {"clip_id": list(clip_ids)}
    if task.classification:
        classes = np.array(task.classes, dtype=object)
        if y_true is not None:
            table[true_column(task.target)] = classes[np.argmax(y_true, axis=1)] if len(y_true) else []
        table[pred_column(task.target)] = classes[np.argmax(y_pred, axis=1)] if len(y_pred) else []
        for i, cls in enumerate(task.classes):
            table[prob_column(cls)] = y_pred[:, i]
        return pd.DataFrame(table)
    for i, target in enumerate(task.targets if y_true is not None else ()):
        table[true_column(target)] = y_true[:, i]
    for i, target in enumerate(task.targets):
        table[pred_column(target)] = y_pred[:, i]
    return pd.DataFrame(table)


def read_predictions(path, task: Task = FIRST_IMPRESSIONS) -> pd.DataFrame:
    """A predictions file as `prediction_table` made it. Classification: the clip ids and class
    names stay text (a class named "NA" or "1" is not read as missing or as a number)."""
    table = pd.read_csv(path)
    if task.classification:
        text = [c for c in ("clip_id", true_column(task.target), pred_column(task.target)) if c in table.columns]
        table[text] = pd.read_csv(path, usecols=text, dtype=str, keep_default_na=False)[text]
    return table


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


YARDSTICKS = {"regression": ("baseline", "ceiling"), "classification": ("majority", "prior", "bayes")}
"""The yardsticks of each task type in metrics.json, in the order tables list them."""


def headline(scores: dict, task: Task = FIRST_IMPRESSIONS) -> float:
    """The one number models are ranked by, from the scores of one model (or yardstick) on one
    split: mean 1-MAE (regression) or the task's metric (classification)."""
    return scores[task.metric] if task.classification else scores["mean"][task.metric]


def evaluate(predictions: dict[str, pd.DataFrame], task: Task = FIRST_IMPRESSIONS, ceiling: pd.DataFrame | None = None, resampling: dict | None = None) -> dict:
    """Metrics per split of a model and of its yardsticks: regression or classification, by `task`.

    Parameters
    ----------
    predictions : split -> that split's predictions table (`prediction_table`); "train" is needed
        (the yardsticks are fitted on it)
    task : what the model predicts
    ceiling : the best possible prediction of every clip, indexed by clip id, or None; regression:
        a column per target (the Bayes predictor's scores), classification: a column per class (the
        Bayes classifier's posterior, see `evaluate_classification`)
    resampling : config ``evaluate`` (``resamples``, ``level``, ``seed``): each split with clips
        gets ``bootstrap``, the paired bootstrap of the model's headline metric against the
        baseline's (train mean; majority class), see `bootstrap.regression`; None: no intervals

    Returns
    -------
    dict: the metrics.json content, with ``"task": task.describe()``; see `evaluate_regression`
    and `evaluate_classification` for the rest
    """
    if "train" not in predictions:
        raise ValueError("the train predictions are needed for the yardsticks (train mean, majority class, class priors)")
    if task.classification:
        result = evaluate_classification(predictions, task, ceiling, resampling)
    else:
        result = evaluate_regression(predictions, task.targets, ceiling, resampling)
    return {"task": task.describe(), **result}


def evaluate_regression(predictions: dict[str, pd.DataFrame], targets=TRAITS, ceiling: pd.DataFrame | None = None, resampling: dict | None = None) -> dict:
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
    [, "ceiling": {...}][, "bootstrap": {...}]}}, "train_means", "targets"}
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
        if resampling is not None and len(table):
            y_true = table[[true_column(t) for t in targets]].to_numpy(float)
            y_pred = table[[pred_column(t) for t in targets]].to_numpy(float)
            result[split]["bootstrap"] = bootstrap.regression(y_true, y_pred, np.tile([train_means[t] for t in targets], (len(table), 1)), resampling)
    return {"splits": result, "train_means": train_means, "targets": list(targets)}


def class_scores(y_true, y_pred, classes, sample_weight=None) -> dict:
    """Accuracy, balanced accuracy, weighted and macro F1, per-class scores and the confusion matrix.

    Every score counts the classes `classes` in that order (``labels=classes``) with
    ``zero_division=0``: a class that is neither annotated nor predicted has precision, recall
    and F1 0 and still counts in the macro F1. Balanced accuracy is the mean recall over the
    classes that occur in `y_true` (scikit-learn's definition).

    Parameters
    ----------
    y_true, y_pred : class names, one per clip
    classes : every class, in output order
    sample_weight : a weight per clip (pair), or None; `class_prior` scores the expected confusion
        matrix through it

    Returns
    -------
    dict: ``accuracy``, ``balanced_accuracy``, ``weighted_f1``, ``macro_f1``, ``per_class``
    (class -> ``precision``, ``recall``, ``f1``, ``support``) and ``confusion``: ``counts`` and
    ``normalized`` (each row divided by its true class's count; a class with no clips a row of
    zeros), lists of rows, true class by row and predicted class by column, in `classes` order
    """
    labels = list(classes)
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    if len(y_true) == 0:
        raise ValueError("no clips to score")
    unknown = sorted({str(c) for c in (*y_true, *y_pred)} - set(labels))
    if unknown:
        raise ValueError(f"class(es) {unknown} are not among the task's classes {labels}")
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, sample_weight=sample_weight, zero_division=0)
    counts = confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")  # those classes have no recall to average
        balanced = balanced_accuracy_score(y_true, y_pred, sample_weight=sample_weight)
    rows = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    number = float if sample_weight is not None else int
    return {
        "accuracy": float(accuracy_score(y_true, y_pred, sample_weight=sample_weight)),
        "balanced_accuracy": float(balanced),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", sample_weight=sample_weight, zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", sample_weight=sample_weight, zero_division=0)),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": number(n)}
            for c, p, r, f, n in zip(labels, precision, recall, f1, support)
        },
        "confusion": {"counts": [[number(v) for v in row] for row in counts], "normalized": normalized.tolist()},
    }


def class_prior(y_true, priors: dict[str, float], classes) -> dict:
    """The scores of guessing each clip's class at random with probabilities `priors`, in expectation.

    Deterministic: the clips' predictions are not drawn; instead each clip of true class i counts
    as predicted class j with weight priors[j], which is the expected confusion matrix
    (E[C_ij] = n_i q_j) over all draws. Scored through `class_scores`, this gives the exact
    expectations of the accuracy (sum_i p_i q_i), of every recall (q_i) and of the balanced
    accuracy; precision (p_j, the split's share of class j) and F1 (2 p q / (p + q)) are those of
    the expected counts, which differ from the mean over draws by O(1 / clips).

    Parameters
    ----------
    y_true : the true class names, one per clip
    priors : class -> probability of guessing it (the training split's class frequencies)
    classes : every class, in output order
    """
    y_true = np.asarray(y_true, dtype=object)
    guesses = [c for c in classes if priors.get(c, 0.0) > 0]
    pairs_true = np.repeat(y_true, len(guesses))
    pairs_pred = np.tile(np.array(guesses, dtype=object), len(y_true))
    weights = np.tile([priors[c] for c in guesses], len(y_true))
    return class_scores(pairs_true, pairs_pred, classes, sample_weight=weights)


def majority_class(train_labels, classes) -> str:
    """The most frequent class of the training labels; a tie goes to the class first in `classes`."""
    counts = pd.Series(list(train_labels)).value_counts()
    return max(classes, key=lambda c: (counts.get(c, 0), -list(classes).index(c)))


def evaluate_classification(predictions: dict[str, pd.DataFrame], task: Task, ceiling: pd.DataFrame | None = None, resampling: dict | None = None) -> dict:
    """Classification metrics per split, for the model and its yardsticks (see `class_scores`).

    The model's class is the ``<target>_pred`` column (its most probable class). The yardsticks,
    fitted on the train predictions table's true classes and scored on the same clips as the
    model: ``majority`` predicts the training split's most frequent class for every clip;
    ``prior`` guesses classes at random with the training split's class frequencies, scored in
    expectation (`class_prior`); ``bayes`` (when `ceiling` is given) is the Bayes classifier of
    the synthetic generator: the most probable class of its posterior, the best any model can do.

    Parameters
    ----------
    ceiling : the Bayes posterior of every clip (at least those of the tables), indexed by clip
        id, a column per class of the task, or None

    Returns
    -------
    dict: {"splits": {split: {"n_clips", "model", "majority", "prior"[, "bayes"]: `class_scores`
    [, "bootstrap": the model against the majority class]}}, "target", "classes", "train_priors":
    {class: frequency}, "majority_class"}
    """
    classes, true, pred = list(task.classes), true_column(task.target), pred_column(task.target)
    train = predictions["train"][true]
    if train.empty:
        raise ValueError("the train predictions hold no clips: the yardsticks need the training classes")
    frequencies = train.value_counts(normalize=True)
    priors = {c: float(frequencies.get(c, 0.0)) for c in classes}
    majority = majority_class(train, classes)
    if ceiling is not None:
        missing = [c for c in classes if c not in ceiling.columns]
        if missing:
            raise ValueError(f"the Bayes posterior has no column for class(es) {missing}; it has {list(ceiling.columns)}")
    result = {}
    for split, table in predictions.items():
        y_true = table[true].to_numpy(dtype=object)
        entry = {
            "n_clips": int(len(table)),
            "model": class_scores(y_true, table[pred].to_numpy(dtype=object), classes),
            "majority": class_scores(y_true, [majority] * len(table), classes),
            "prior": class_prior(y_true, priors, classes),
        }
        if ceiling is not None:
            unknown = sorted(set(table["clip_id"]) - set(ceiling.index))
            if unknown:
                raise ValueError(f"{split}: {len(unknown)} clip(s) have no Bayes posterior in the ground truth, e.g. {unknown[:3]}")
            posterior = ceiling.loc[table["clip_id"], classes].to_numpy(float)
            entry["bayes"] = class_scores(y_true, np.array(classes, dtype=object)[posterior.argmax(axis=1)], classes)
        if resampling is not None and len(table):
            index = {c: i for i, c in enumerate(classes)}
            true_index, pred_index = (np.array([index[c] for c in table[column]]) for column in (true, pred))
            majority_index = np.full(len(table), index[majority])
            entry["bootstrap"] = bootstrap.classification(true_index, pred_index, majority_index, len(classes), task.metric, resampling)
        result[split] = entry
    return {"splits": result, "target": task.target, "classes": classes, "train_priors": priors, "majority_class": majority}
