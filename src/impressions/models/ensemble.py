"""The ensemble: one model of the other models' predictions, fitted on the validation split only.

Stacking, per target: regression fits each trait as intercept + a weighted sum of the members'
predictions of that trait (ridge, its penalty chosen by leave-one-out); classification fits a
multinomial logistic regression on the members' log-probabilities of every class (its C chosen
by cross-validated log loss). When the validation split is too small to fit that on, the
ensemble is the plain average of its members. Everything here is pure: prediction tables
(`impressions.models.metrics.prediction_table`) in, arrays and tables out; rule ``ensemble``
(scripts/ensemble.py) reads and writes the files.

Which split fits what: only the validation split. The members were fitted on the training split,
so their training predictions are overfit (KNN's are exact): a combiner fitted on them would
trust the most overfit member. The test split is never used in fitting. The ensemble's own
validation predictions are cross-fitted (each fold is predicted by a combiner fitted, penalty
chosen included, on the other folds), so its validation score, by which the submission chooses a
model, is as honest as the members'; its training predictions (the final combiner on the
members' overfit ones) say nothing about how well it generalises.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from impressions.models.metrics import pred_column, prediction_table, prob_column, true_column
from impressions.models.task import FIRST_IMPRESSIONS, Task

FIT_SPLIT = "val"
"""The one split the combiner is fitted on."""
ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
"""Ridge penalties tried (on predictions scaled to unit spread: comparable to the clip count)."""
CS = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
"""Inverse penalties of the logistic regression tried, most regularised first (ties go to it)."""
FLOOR = 1e-6
"""Probabilities are floored at this before their log (members write 0 for a class they never predict)."""


def combiner(*, alphas=ALPHAS, C: float = 1.0, classification: bool = False) -> RidgeCV | Pipeline:
    """The estimator fitted per target: RidgeCV with an intercept, its alpha by efficient
    leave-one-out over `alphas` (regression); or StandardScaler + multinomial LogisticRegression
    of inverse penalty `C` (classification; `fit_classifier` chooses C)."""
    if classification:
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    return RidgeCV(alphas=tuple(alphas))


@dataclass(frozen=True)
class Stack:
    """A fitted ensemble: how its members' predictions become its own.

    Attributes
    ----------
    members : the models combined, in feature order
    method : "stacking" (the fitted linear combiners) or "average" (the members' plain mean)
    reason : why that method: the validation clips and classes it had
    weights : target -> regression: (members,) weights of the members' predictions of it;
        classification: (members * classes, fitted classes) weights of the log-probabilities,
        member by member, each member's classes in the task's order
    intercepts : target -> regression: a scalar; classification: (fitted classes,)
    penalties : target -> the chosen ridge alpha or logistic C
    fitted : classification: the indices of the classes the validation split holds, those the
        combiner can predict (the others get probability 0)
    val_clips : validation clips every member predicted
    """

    members: tuple[str, ...]
    method: str
    reason: str
    weights: dict[str, np.ndarray]
    intercepts: dict[str, np.ndarray]
    penalties: dict[str, float]
    fitted: tuple[int, ...] = ()
    val_clips: int = 0


@dataclass(frozen=True)
class Ensembled:
    """What the ensemble writes: its prediction table per split, the clips it left out, itself."""

    tables: dict[str, pd.DataFrame]
    excluded: pd.DataFrame
    stack: Stack


def align(tables: dict[str, pd.DataFrame], split: str, excluded: dict[str, pd.DataFrame] | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The members' predictions of the clips every member predicted, and the other clips with why.

    Parameters
    ----------
    tables : member -> its prediction table of `split`
    excluded : member -> its excluded.tsv (``clip_id, split, reason``), or None; a clip that some
        member left out (even every member) is listed with that member's reason

    Returns
    -------
    aligned : member -> its rows of the common clips, in the first member's order
    left_out : ``clip_id, split, reason`` of every other clip of `split` that a member predicted
        or excluded, the reason naming each member without a prediction
    """
    reasons = {member: {} for member in tables}
    for member, table in (excluded or {}).items():
        rows = table[table["split"] == split]
        reasons[member] = dict(zip(rows["clip_id"], rows["reason"]))
    predicted = {member: set(table["clip_id"]) for member, table in tables.items()}
    seen = [*next(iter(tables.values()))["clip_id"]]
    for member in tables:
        seen += [*tables[member]["clip_id"], *reasons[member]]
    common = [clip for clip in dict.fromkeys(seen) if all(clip in clips for clips in predicted.values())]
    aligned = {member: table.set_index("clip_id").loc[common].reset_index() for member, table in tables.items()}
    left = []
    for clip in dict.fromkeys(seen):
        missing = [member for member in tables if clip not in predicted[member]]
        if missing:
            why = "; ".join(f"{member}: {reasons[member].get(clip, 'no prediction')}" for member in missing)
            left.append({"clip_id": clip, "split": split, "reason": f"not predicted by every member ({why})"})
    return aligned, pd.DataFrame(left, columns=["clip_id", "split", "reason"])


def member_features(tables: dict[str, pd.DataFrame], task: Task = FIRST_IMPRESSIONS, target: str | None = None) -> np.ndarray:
    """What the combiner of one target reads, from aligned tables (`align`).

    Returns
    -------
    np.ndarray [shape=(clips, members)]: regression, each member's prediction of `target`; or
    [shape=(clips, members * classes)]: classification, each member's log-probability of every
    class (floored at `FLOOR`), member by member
    """
    if task.classification:
        columns = [prob_column(c) for c in task.classes]
        return np.hstack([np.log(np.clip(table[columns].to_numpy(float), FLOOR, 1.0)) for table in tables.values()])
    return np.column_stack([table[pred_column(target)].to_numpy(float) for table in tables.values()])


def truths(table: pd.DataFrame, task: Task = FIRST_IMPRESSIONS) -> np.ndarray:
    """The labels of a prediction table: (clips, targets) scores, or (clips,) class indices."""
    if task.classification:
        return task.class_index(table[true_column(task.target)])
    return table[[true_column(t) for t in task.targets]].to_numpy(float)


def fold_indices(n: int, k: int, seed: int, labels: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fitted, held-out) indices of min(k, n) shuffled folds, seeded: stratified by `labels`
    where a class has enough clips for it (rare classes then fall in some folds only)."""
    k = min(k, n)
    if labels is not None and np.bincount(labels).max() >= k:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class")
            return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(n), labels))
    return list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(n)))


def fit_regressor(x: np.ndarray, y: np.ndarray, *, alphas=ALPHAS) -> tuple[np.ndarray, float, float]:
    """Weights, intercept and alpha of one target's ridge combiner, penalised towards the average.

    The ridge fits y minus the members' mean on the members' predictions divided by their
    pooled spread, so a large alpha gives the plain average (bias-corrected by the intercept)
    rather than a constant, and the alphas mean the same whatever the predictions' spread.

    Parameters
    ----------
    x : np.ndarray [shape=(clips, members)], the members' predictions
    y : np.ndarray [shape=(clips,)], the labels

    Returns
    -------
    weights : np.ndarray [shape=(members,)], in the predictions' own units (mean 1 / members
        plus the ridge's correction), so that the prediction is ``x @ weights + intercept``
    intercept, alpha
    """
    spread = float(np.sqrt(np.mean(np.var(x, axis=0)))) or 1.0
    ridge = combiner(alphas=alphas).fit(x / spread, y - x.mean(axis=1))
    return 1.0 / x.shape[1] + ridge.coef_ / spread, float(ridge.intercept_), float(ridge.alpha_)


def _logistic(features: np.ndarray, labels: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights (features, fitted classes), intercepts and fitted class indices of one logistic
    combiner, in the features' own units; one class only: that class, always."""
    present = np.unique(labels)
    if len(present) < 2:
        return np.zeros((features.shape[1], 1)), np.zeros(1), present
    model = combiner(C=C, classification=True).fit(features, labels)
    scaler, logistic = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
    coef, intercept = logistic.coef_, logistic.intercept_
    if len(present) == 2:  # a binary fit has one row: the second class's logit against the first's 0
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    weights = (coef / scaler.scale_).T
    return weights, intercept - scaler.mean_ @ weights, logistic.classes_


def class_probabilities(features: np.ndarray, weights: np.ndarray, intercepts: np.ndarray, fitted, n_classes: int) -> np.ndarray:
    """A logistic combiner's probabilities of every class: softmax over the fitted classes, 0 for
    the others. Returns np.ndarray [shape=(clips, n_classes)], rows summing to 1."""
    logits = features @ weights + intercepts
    logits -= logits.max(axis=1, keepdims=True)
    odds = np.exp(logits)
    probabilities = np.zeros((len(features), n_classes))
    probabilities[:, list(fitted)] = odds / odds.sum(axis=1, keepdims=True)
    return probabilities


def fit_classifier(features: np.ndarray, labels: np.ndarray, n_classes: int, *, Cs=CS, k: int = 5, seed: int = 0):
    """The logistic combiner of C chosen by `k`-fold cross-validated log loss on these clips.

    Parameters
    ----------
    features : np.ndarray [shape=(clips, members * classes)], `member_features`
    labels : np.ndarray [shape=(clips,)], class indices

    Returns
    -------
    weights, intercepts, fitted (see `Stack`), C
    """
    splits = fold_indices(len(labels), k, seed, labels)
    losses = []
    for C in Cs:
        held_out = np.zeros((len(labels), n_classes))
        for train, held in splits:
            held_out[held] = class_probabilities(features[held], *_logistic(features[train], labels[train], C), n_classes)
        losses.append(log_loss(labels, held_out, labels=range(n_classes)))
    C = Cs[int(np.argmin(losses))]
    return (*_logistic(features, labels, C), float(C))


def fallback_reason(val_clips: int, members: int, min_val_clips: int, classes: int | None = None) -> str:
    """Why the ensemble averages rather than stacks ("" when it can stack): fewer validation clips
    than `min_val_clips` or than members + 2, or (classification) fewer than two classes in them."""
    needed = max(min_val_clips, members + 2)
    if val_clips < needed:
        return f"{val_clips} validation clips predicted by every member, fewer than {needed} (min_val_clips {min_val_clips}, members + 2 = {members + 2})"
    if classes is not None and classes < 2:
        return f"the {val_clips} validation clips hold {classes} class; a classifier needs two"
    return ""


def fit(val: dict[str, pd.DataFrame], task: Task = FIRST_IMPRESSIONS, *, min_val_clips: int = 20, folds: int = 5, alphas=ALPHAS, Cs=CS, seed: int = 0) -> Stack:
    """The ensemble fitted on the members' aligned validation tables (`align`), which hold the
    labels; the plain average where `fallback_reason` says so."""
    members = tuple(val)
    first = next(iter(val.values()))
    y = truths(first, task)
    reason = fallback_reason(len(first), len(members), min_val_clips, len(np.unique(y)) if task.classification else None)
    if reason:
        return Stack(members, "average", reason, {}, {}, {}, val_clips=len(first))
    weights, intercepts, penalties, fitted = {}, {}, {}, ()
    if task.classification:
        w, b, fitted, C = fit_classifier(member_features(val, task), y, len(task.classes), Cs=Cs, k=folds, seed=seed)
        weights[task.target], intercepts[task.target], penalties[task.target] = w, b, C
    else:
        for i, target in enumerate(task.targets):
            weights[target], intercepts[target], penalties[target] = fit_regressor(member_features(val, task, target), y[:, i], alphas=alphas)
    reason = f"{len(first)} validation clips predicted by every member (at least {max(min_val_clips, len(members) + 2)})"
    return Stack(members, "stacking", reason, weights, intercepts, penalties, tuple(int(c) for c in fitted), len(first))


def predict(stack: Stack, tables: dict[str, pd.DataFrame], task: Task = FIRST_IMPRESSIONS) -> np.ndarray:
    """The ensemble's predictions of aligned tables (`align`, the stack's members in its order).

    Returns
    -------
    np.ndarray [shape=(clips, outputs)]: scores clipped to [0, 1], or class probabilities
    """
    tables = {member: tables[member] for member in stack.members}
    clips = len(next(iter(tables.values())))
    if task.classification:
        if stack.method == "average":
            mean = np.mean([table[[prob_column(c) for c in task.classes]].to_numpy(float) for table in tables.values()], axis=0)
            return mean / np.maximum(mean.sum(axis=1, keepdims=True), FLOOR)
        target = task.target
        return class_probabilities(member_features(tables, task), stack.weights[target], stack.intercepts[target], stack.fitted, len(task.classes))
    scores = np.empty((clips, len(task.targets)))
    for i, target in enumerate(task.targets):
        x = member_features(tables, task, target)
        scores[:, i] = x.mean(axis=1) if stack.method == "average" else x @ stack.weights[target] + stack.intercepts[target]
    return np.clip(scores, 0.0, 1.0)


def cross_fitted(val: dict[str, pd.DataFrame], stack: Stack, task: Task = FIRST_IMPRESSIONS, *, folds: int = 5, seed: int = 0, **settings) -> np.ndarray:
    """The validation clips' predictions, each fold's by the ensemble `fit` on the other folds
    (the plain average, which fits nothing, as it is): an honest validation score.

    `settings` are `fit`'s; a fold is not held to ``min_val_clips`` (only to members + 2 clips)."""
    if stack.method == "average":
        return predict(stack, val, task)
    first = next(iter(val.values()))
    labels = truths(first, task) if task.classification else None
    held_out = np.zeros((len(first), len(task.outputs)))
    for fitted, held in fold_indices(len(first), folds, seed, labels):
        part = {member: table.iloc[fitted] for member, table in val.items()}
        fold = fit(part, task, min_val_clips=0, folds=folds, seed=seed, **settings)
        held_out[held] = predict(fold, {member: table.iloc[held] for member, table in val.items()}, task)
    return held_out


def ensemble(
    splits: dict[str, dict[str, pd.DataFrame]],
    task: Task = FIRST_IMPRESSIONS,
    *,
    excluded: dict[str, pd.DataFrame] | None = None,
    min_val_clips: int = 20,
    folds: int = 5,
    alphas=ALPHAS,
    Cs=CS,
    seed: int = 0,
) -> Ensembled:
    """Fit the ensemble on the validation split and predict every split.

    Parameters
    ----------
    splits : split (train, val, test and ``predict``, the unlabelled clips) -> member -> its
        prediction table; the members in the order the stack reads them
    excluded : member -> its excluded.tsv, for the reasons of the clips left out (`align`)
    min_val_clips, folds, alphas, Cs, seed : see `fit` and `fallback_reason`; `seed` shuffles
        the folds

    Returns
    -------
    Ensembled: a prediction table per split (validation: `cross_fitted`), the clips of every split
    that some member did not predict, and the fitted `Stack`
    """
    aligned, left_out = {}, []
    for split, tables in splits.items():
        aligned[split], dropped = align(tables, split, excluded)
        left_out.append(dropped)
    settings = dict(alphas=alphas, Cs=Cs)
    stack = fit(aligned[FIT_SPLIT], task, min_val_clips=min_val_clips, folds=folds, seed=seed, **settings)
    tables = {}
    for split, members in aligned.items():
        first = next(iter(members.values()))
        if split == FIT_SPLIT:
            predicted = cross_fitted(members, stack, task, folds=folds, seed=seed, **settings)
        else:
            predicted = predict(stack, members, task) if len(first) else np.zeros((0, len(task.outputs)))
        labelled = true_column(task.targets[0]) in first.columns
        tables[split] = prediction_table(first["clip_id"], task.encode(_labels(first, task)) if labelled else None, predicted, task)
    return Ensembled(tables, pd.concat(left_out, ignore_index=True), stack)


def _labels(table: pd.DataFrame, task: Task) -> pd.DataFrame:
    """A prediction table's true columns under the target names, as `Task.encode` reads them."""
    return table[[true_column(t) for t in task.targets]].set_axis(list(task.targets), axis=1)


def describe(stack: Stack, task: Task = FIRST_IMPRESSIONS) -> dict:
    """The stack as plain values (ensemble.json): method and why, the members, the clips it was
    fitted on, and per target the weights of each member (classification: of each member's
    log-probability of each class, per fitted class), the intercept and the chosen penalty."""
    members = list(stack.members)
    result = {"method": stack.method, "reason": stack.reason, "members": members, "fitted_on": FIT_SPLIT, "val_clips": stack.val_clips}
    if stack.method == "average":
        result["targets"] = {t: {"weights": {m: 1.0 / len(members) for m in members}, "intercept": 0.0} for t in task.targets}
        return result
    if not task.classification:
        result["targets"] = {
            t: {"weights": dict(zip(members, map(float, stack.weights[t]))), "intercept": float(stack.intercepts[t]), "alpha": stack.penalties[t]}
            for t in task.targets
        }
        return result
    target, features = task.target, [f"{m}: log p_{c}" for m in members for c in task.classes]
    fitted = [task.classes[i] for i in stack.fitted]
    result["targets"] = {
        target: {
            "C": stack.penalties[target],
            "classes": fitted,
            "intercept": dict(zip(fitted, map(float, stack.intercepts[target]))),
            "weights": {c: dict(zip(features, map(float, stack.weights[target][:, j]))) for j, c in enumerate(fitted)},
        }
    }
    return result
