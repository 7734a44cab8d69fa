"""How sure a score is: percentile bootstrap intervals over a split's clips, and the paired
bootstrap of a model against its baseline (the same resamples score both, so the interval of
the difference is that of the comparison, not of two independent scores).

A resample draws the split's n clips n times with replacement; it is held as how often it drew
each clip (multinomial counts), so that a metric over all resamples is one matrix product:
the mean 1-MAE from the clips' absolute errors, the classification metrics from the resamples'
confusion matrices. The same seed gives every model the same resamples.
"""

from __future__ import annotations

import numpy as np


def resample_counts(n_clips: int, resamples: int, seed: int) -> np.ndarray:
    """How often each of `resamples` bootstrap resamples draws each clip: [shape=(resamples, n_clips)], rows sum to n_clips."""
    if n_clips == 0:
        raise ValueError("no clips to resample")
    return np.random.default_rng(seed).multinomial(n_clips, np.full(n_clips, 1.0 / n_clips), size=resamples).astype(np.float64)


def regression_scores(counts: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Mean 1-MAE over the targets of every resample: 1 minus the mean absolute error over its
    clips and the targets (y_* [shape=(clips, targets)])."""
    errors = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float)).mean(axis=1)
    return 1.0 - counts @ errors / counts.sum(axis=1)


def confusions(counts: np.ndarray, true_index: np.ndarray, pred_index: np.ndarray, n_classes: int) -> np.ndarray:
    """Every resample's confusion matrix (true class by row) [shape=(resamples, classes, classes)]."""
    cells = np.zeros((len(true_index), n_classes * n_classes))
    cells[np.arange(len(true_index)), true_index * n_classes + pred_index] = 1.0
    return (counts @ cells).reshape(-1, n_classes, n_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def confusion_scores(matrices: np.ndarray, metric: str) -> np.ndarray:
    """A classification metric of each confusion matrix, as `metrics.class_scores` defines it:
    every class counts (zero_division 0), balanced accuracy averages the recall of the classes
    that occur."""
    correct = np.diagonal(matrices, axis1=1, axis2=2)
    support, predicted, total = matrices.sum(axis=2), matrices.sum(axis=1), matrices.sum(axis=(1, 2))
    if metric == "accuracy":
        return correct.sum(axis=1) / total
    recall = _ratio(correct, support)
    if metric == "balanced_accuracy":
        return (recall * (support > 0)).sum(axis=1) / (support > 0).sum(axis=1)
    precision = _ratio(correct, predicted)
    f1 = _ratio(2 * precision * recall, precision + recall)
    if metric == "weighted_f1":
        return (f1 * support).sum(axis=1) / total
    if metric == "macro_f1":
        return f1.mean(axis=1)
    raise ValueError(f"no bootstrap for metric {metric!r}; choose one of accuracy, balanced_accuracy, weighted_f1, macro_f1")


def interval(values: np.ndarray, level: float) -> list[float]:
    """The central `level` percentile interval of the resampled values."""
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def paired(model: np.ndarray, baseline: np.ndarray, *, level: float) -> dict:
    """Intervals of a model's and its baseline's resampled scores and of their difference; the
    model is better than the baseline when the whole interval of the difference is above 0."""
    difference = interval(model - baseline, level)
    scores = {"model": interval(model, level), "baseline": interval(baseline, level)}
    return {**scores, "difference_interval": difference, "better_than_baseline": difference[0] > 0}


def regression(y_true: np.ndarray, y_pred: np.ndarray, y_base: np.ndarray, settings: dict) -> dict:
    """The paired bootstrap of a model's mean 1-MAE against its baseline's on one split.

    Parameters
    ----------
    y_true, y_pred, y_base : [shape=(clips, targets)] the labels, the model's and the baseline's predictions
    settings : config ``evaluate``: ``resamples``, ``level``, ``seed``

    Returns
    -------
    dict: ``metric``, ``resamples``, ``level``, ``seed``, then `paired`'s intervals
    """
    counts = resample_counts(len(y_true), settings["resamples"], settings["seed"])
    model, base = regression_scores(counts, y_true, y_pred), regression_scores(counts, y_true, y_base)
    return _described("mean 1-MAE", model, base, settings)


def classification(true_index: np.ndarray, pred_index: np.ndarray, base_index: np.ndarray, n_classes: int, metric: str, settings: dict) -> dict:
    """The paired bootstrap of a model's classification `metric` against its baseline's on one
    split (classes as indices into the task's classes); returns as `regression` does."""
    counts = resample_counts(len(true_index), settings["resamples"], settings["seed"])
    model = confusion_scores(confusions(counts, true_index, pred_index, n_classes), metric)
    base = confusion_scores(confusions(counts, true_index, base_index, n_classes), metric)
    return _described(metric, model, base, settings)


def _described(metric: str, model: np.ndarray, base: np.ndarray, settings: dict) -> dict:
    return {"metric": metric, **{key: settings[key] for key in ("resamples", "level", "seed")}, **paired(model, base, level=settings["level"])}
