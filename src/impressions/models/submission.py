"""The submission of a dataset with unlabelled clips: the best model's predictions, by file name.

Audio challenges ship an unlabelled ``test.csv`` and score a CSV of (file, predicted label); the
model is chosen on the validation split by the task's metric, never on test.
"""

from __future__ import annotations

import pandas as pd

from impressions.models.metrics import pred_column
from impressions.models.task import Task


def validation_score(metrics: dict, task: Task) -> float:
    """A model's validation score by the task's metric (mean over targets for regression)."""
    scores = metrics["splits"]["val"]["model"]
    return float(scores[task.metric] if task.classification else scores["mean"][task.metric])


def best_model(metrics: dict[str, dict], task: Task) -> str:
    """The model with the best validation score (ties: the first in `metrics` order)."""
    return max(metrics, key=lambda name: validation_score(metrics[name], task))


def submission(predictions: pd.DataFrame, sheet: pd.DataFrame, task: Task, file_column: str) -> pd.DataFrame:
    """One row per unlabelled clip of the clip sheet: its file as the user's table names it (or its
    path, for a kind without one) and the predicted value of each target; a clip the model could
    not predict (excluded: no audio, too short) keeps an empty prediction rather than disappearing.

    Returns
    -------
    pd.DataFrame: `file_column`, then the task's targets (a class name, or a score)
    """
    unlabelled = sheet[sheet["split"] == "predict"]
    files = unlabelled["file"] if "file" in unlabelled else unlabelled["path"]
    predicted = predictions.set_index("clip_id")
    table = pd.DataFrame({file_column: files.to_numpy()})
    for target in task.targets:
        table[target] = predicted[pred_column(target)].reindex(unlabelled["clip_id"]).to_numpy()
    return table
