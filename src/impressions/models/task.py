"""What a dataset's models learn: regression of scores in [0, 1], or classification into classes.

The task is a property of the dataset (``dataset.task`` in config), checked when the workflow is
parsed and carried into every model job as plain values (`Task.describe`), so that changing it
reruns what depends on it. Models end in one output per `Task.outputs`: a score per target for
regression, a logit per class for classification.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from impressions import EMOTIONS, SENTIMENTS, TRAITS
from impressions.io.errors import InputError

TYPES = ("regression", "classification")
CLASSIFICATION_METRICS = ("weighted_f1", "macro_f1", "accuracy", "balanced_accuracy")
"""Metrics a classification task can select models by (early stopping, best checkpoint, table order)."""
REGRESSION_METRICS = ("one_minus_mae",)
CLASS_WEIGHTS = ("balanced", "none")

KIND_TASKS = {
    "chalearn": {"type": "regression", "targets": list(TRAITS)},
    "meld": {"type": "classification", "target": "emotion", "classes": list(EMOTIONS)},
    "table": {"type": "classification"},
}
"""The task a dataset kind's labels suggest, where config leaves ``dataset.task`` keys empty."""

KNOWN_CLASSES = {("meld", "sentiment"): list(SENTIMENTS)}
"""Class lists the data format fixes, for a target other than the kind's default."""


@dataclass(frozen=True)
class Task:
    """One dataset's task.

    Attributes
    ----------
    type : "regression" or "classification"
    targets : the label columns learnt (classification: exactly one)
    classes : classification: the classes in output order; regression: ()
    metric : the metric models are selected by (early stopping, best checkpoint, table order)
    class_weights : classification: "balanced" (weights inverse to the training split's class
        frequencies) or "none"
    """

    type: str
    targets: tuple[str, ...]
    classes: tuple[str, ...] = ()
    metric: str = "one_minus_mae"
    class_weights: str = "none"

    @property
    def classification(self) -> bool:
        return self.type == "classification"

    @property
    def target(self) -> str:
        """The one label column of a classification task."""
        return self.targets[0]

    @property
    def outputs(self) -> tuple[str, ...]:
        """What each model output unit stands for: a target (regression) or a class."""
        return self.classes if self.classification else self.targets

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        """The rows' targets as the models see them: scores (regression) or one-hot classes.

        Returns
        -------
        np.ndarray [shape=(len(rows), len(outputs)), dtype=float32]
        """
        if not self.classification:
            return rows[list(self.targets)].to_numpy(np.float32)
        index = self.class_index(rows[self.target])
        return np.eye(len(self.classes), dtype=np.float32)[index]

    def class_index(self, labels) -> np.ndarray:
        """Class labels -> their index in `classes`; a label that is not a class is an error."""
        position = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({str(label) for label in labels if label not in position})
        if unknown:
            raise InputError(f"{self.target}: {', '.join(unknown)} not among dataset.task.classes {list(self.classes)}")
        return np.array([position[label] for label in labels], dtype=np.int64)

    def invalid(self, rows: pd.DataFrame) -> pd.Series:
        """Per row, why its label cannot be learnt ("" when it can): a class outside the task's."""
        if not self.classification:
            return pd.Series("", index=rows.index)
        values = rows[self.target]
        bad = ~values.isin(self.classes)
        return pd.Series(np.where(bad, [f"{self.target} {v!r} is not one of the task's classes {list(self.classes)}" for v in values], ""), index=rows.index)

    def weights(self, y_train: np.ndarray) -> np.ndarray:
        """Per-class loss weights from the training split's one-hot targets (ones for "none").

        "balanced" gives class c the weight n / (C n_c), as scikit-learn's
        ``compute_class_weight("balanced")``; a class absent from training gets weight 0.
        """
        if not self.classification or self.class_weights == "none":
            return np.ones(len(self.outputs), np.float32)
        counts = y_train.sum(axis=0)
        with np.errstate(divide="ignore"):
            weights = np.where(counts > 0, len(y_train) / (len(self.classes) * counts), 0.0)
        return weights.astype(np.float32)

    def describe(self) -> dict:
        """The task as plain values: a param of every job that depends on it."""
        return {"type": self.type, "targets": list(self.targets), "classes": list(self.classes), "metric": self.metric, "class_weights": self.class_weights}

    @classmethod
    def from_params(cls, params: dict) -> "Task":
        """The inverse of `describe`."""
        return cls(params["type"], tuple(params["targets"]), tuple(params["classes"]), params["metric"], params["class_weights"])


FIRST_IMPRESSIONS = Task("regression", TRAITS)
"""The Big Five regression of ChaLearn First Impressions."""


def resolve(settings: dict, kind: str, label_columns: list[str]) -> Task:
    """The dataset's task from ``dataset.task``, empty keys filled from the kind's, checked.

    Every bad value is an `InputError` of one line that names the key, the value and the choices.
    """
    default = KIND_TASKS[kind]
    task_type = settings.get("type") or default["type"]
    if task_type not in TYPES:
        raise InputError(f"dataset.task.type: {task_type!r} is not a task; choose one of {', '.join(TYPES)}")
    if task_type == "regression":
        targets = settings.get("targets") or (default.get("targets") if default["type"] == "regression" else None) or label_columns
        unknown = [t for t in targets if t not in label_columns]
        if unknown:
            raise InputError(f"dataset.task.targets: {', '.join(map(repr, unknown))} not among the {kind} dataset's labels {label_columns}")
        metric = settings.get("metric") or REGRESSION_METRICS[0]
        if metric not in REGRESSION_METRICS:
            raise InputError(f"dataset.task.metric: {metric!r} is not a regression metric; choose one of {', '.join(REGRESSION_METRICS)}")
        return Task("regression", tuple(targets), (), metric, "none")
    target = settings.get("target") or default.get("target") or label_columns[0]
    if target not in label_columns:
        raise InputError(f"dataset.task.target: {target!r} is not among the {kind} dataset's labels {label_columns}")
    classes = settings.get("classes") or KNOWN_CLASSES.get((kind, target)) or (default.get("classes") if target == default.get("target") else None)
    if not classes:
        raise InputError(f"dataset.task.classes: the {kind} dataset's target {target!r} needs its class list, e.g. classes: [neutral, happy, sad, angry]")
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise InputError(f"dataset.task.classes: {list(classes)} must name at least two distinct classes")
    metric = settings.get("metric") or CLASSIFICATION_METRICS[0]
    if metric not in CLASSIFICATION_METRICS:
        raise InputError(f"dataset.task.metric: {metric!r} is not a classification metric; choose one of {', '.join(CLASSIFICATION_METRICS)}")
    class_weights = settings.get("class_weights") or "balanced"
    if class_weights not in CLASS_WEIGHTS:
        raise InputError(f"dataset.task.class_weights: {class_weights!r}; choose one of {', '.join(CLASS_WEIGHTS)}")
    return Task("classification", (target,), tuple(str(c) for c in classes), metric, class_weights)
