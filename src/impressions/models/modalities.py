"""Which modalities each model hears or sees, and whether fusing them beats every single one.

A model's modalities follow from the cache families its registry entry reads (a stack's from its
members'). The comparison scores each fusion model (one that uses every modality the dataset's
models use) against each single-modality model on the test clips both predicted, by the paired
bootstrap of `impressions.models.bootstrap`: the same resamples score both, so the interval is
that of the difference, the question a reader asks ("does adding text and video help?").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from impressions.models import bootstrap, registry
from impressions.models.metrics import pred_column, true_column
from impressions.models.task import Task

ORDER = ("audio", "video", "text")
MODALITY_OF_FAMILY = {
    "logmel": ("audio",),
    "spectrogram": ("audio",),
    "mfcc": ("audio",),
    "rawwave": ("audio",),
    "egemaps": ("audio",),
    "vggish": ("audio",),
    "frames": ("video",),
    "text": ("text",),
    "aligned": ORDER,
}
"""Cache family -> the modalities it comes from (the aligned cache holds every one the dataset has)."""


def modalities(name: str, members: list[str] | None = None, available: tuple[str, ...] = ORDER) -> list[str]:
    """The modalities of a registered model, in `ORDER`; a stack's are its `members`' together;
    only those the dataset has (`available`)."""
    families = {family for model in (members or [name]) for family in registry.spec(model).families}
    used = {modality for family in families for modality in MODALITY_OF_FAMILY[family]}
    return [modality for modality in ORDER if modality in used and modality in available]


def label(names: list[str]) -> str:
    """``audio+video+text``."""
    return "+".join(names)


def paired_scores(task: Task, first: pd.DataFrame, second: pd.DataFrame, settings: dict) -> tuple[int, float, np.ndarray]:
    """The clips both prediction tables hold, the headline metric's difference (first minus second)
    on them, and that difference on every bootstrap resample of them (`settings`: config ``evaluate``)."""
    both = first.merge(second, on="clip_id", suffixes=("", "_second"))
    if both.empty:
        raise ValueError("the two models predicted no clip in common")
    counts = bootstrap.resample_counts(len(both), settings["resamples"], settings["seed"])
    full = np.ones((1, len(both)))
    if task.classification:
        index = {c: i for i, c in enumerate(task.classes)}
        true = both[true_column(task.target)].map(index).to_numpy()

        def scores(weights, suffix):
            predicted = both[pred_column(task.target) + suffix].map(index).to_numpy()
            return bootstrap.confusion_scores(bootstrap.confusions(weights, true, predicted, len(task.classes)), task.metric)
    else:
        true = both[[true_column(t) for t in task.targets]].to_numpy(float)

        def scores(weights, suffix):
            return bootstrap.regression_scores(weights, true, both[[pred_column(t) + suffix for t in task.targets]].to_numpy(float))

    difference = float((scores(full, "") - scores(full, "_second"))[0])
    return len(both), difference, scores(counts, "") - scores(counts, "_second")


def fusion_against_single(task: Task, predictions: dict[str, pd.DataFrame], used: dict[str, list[str]], settings: dict) -> pd.DataFrame:
    """Each fusion model against each single-modality model on the test split.

    Parameters
    ----------
    predictions : model -> its test predictions table
    used : model -> its modalities (`modalities`)
    settings : config ``evaluate``: ``resamples``, ``level``, ``seed``

    Returns
    -------
    pd.DataFrame, a row per (fusion model, single-modality model) pair, fusion models and single
    ones each in the order of `predictions`: ``multimodal``, ``multimodal_modalities``, ``single``,
    ``single_modality``, ``clips``, ``difference`` (fusion minus single, headline metric),
    ``low``, ``high`` (its paired interval) and ``better`` (the whole interval above 0). Empty
    when the models use a single modality between them, none is single-modality, or the test
    split has no clips; a pair without a clip in common is left out.
    """
    every = [modality for modality in ORDER if any(modality in names for names in used.values())]
    fusions = [name for name in predictions if len(every) > 1 and used[name] == every]
    singles = [name for name in predictions if len(used[name]) == 1]
    rows = []
    for fusion in fusions:
        for single in singles:
            if not set(predictions[fusion]["clip_id"]) & set(predictions[single]["clip_id"]):
                continue  # a test split without clips, or two models without a clip in common: nothing to compare
            clips, difference, resampled = paired_scores(task, predictions[fusion], predictions[single], settings)
            low, high = bootstrap.interval(resampled, settings["level"])
            rows.append(
                {
                    "multimodal": fusion,
                    "multimodal_modalities": label(used[fusion]),
                    "single": single,
                    "single_modality": used[single][0],
                    "clips": clips,
                    "difference": difference,
                    "low": low,
                    "high": high,
                    "better": low > 0,
                }
            )
    columns = ["multimodal", "multimodal_modalities", "single", "single_modality", "clips", "difference", "low", "high", "better"]
    return pd.DataFrame(rows, columns=columns)
