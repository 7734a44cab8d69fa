"""Training and prediction of the scikit-learn models (KNN), on instances from the caches."""

from __future__ import annotations

import inspect
import os
import pickle

import numpy as np
import pandas as pd

from impressions.io.atomic import atomic_path
from impressions.models import registry
from impressions.models.inputs import MEMORY_MB, read_sources, write_predictions
from impressions.models.task import FIRST_IMPRESSIONS, Task


def train_sklearn(
    name: str,
    *,
    manifest: str | os.PathLike,
    caches: dict[str, list[str]],
    settings: dict,
    outputs,
    task: Task = FIRST_IMPRESSIONS,
    memory_mb: float = MEMORY_MB,
    log=print,
) -> None:
    """Fit a registered scikit-learn model on every training instance and predict every split.

    Each instance (for KNN, each 0.96 s VGGish window) is labelled with its clip's targets; a
    clip's prediction is the mean of its instances' predictions. (For KNN on the training split
    each window finds itself at distance 0, so train scores are perfect by construction.) For
    classification the model is fitted on class indices and predicts class probabilities, a
    column for every class of the task (0 for a class absent from training); an estimator that
    takes sample weights is fitted with the task's class weights.

    Parameters
    ----------
    caches : cache family -> the paths of its shard files
    settings : the model's section of config.yaml (its builder's arguments, and its entry's
        ``input_settings``)
    outputs : ``model`` (.pkl), ``excluded`` (tsv), ``predictions`` (one csv per split, in SPLITS order)
    memory_mb : the most a split's instances may take to be kept in memory (`ClipSource`)
    """
    sources = read_sources(name, manifest, caches, settings, task, memory_mb)
    excluded = pd.concat([source.excluded() for source in sources.values()], ignore_index=True)
    instances, targets = [], []
    for index, clip_instances in sources["train"].clips():
        instances += clip_instances
        targets += [sources["train"].targets()[index]] * len(clip_instances)
    spec = registry.spec(name)
    model = spec.build(**{k: v for k, v in settings.items() if k not in spec.input_settings}, classification=task.classification)
    targets = np.stack(targets)
    fit_params = {}
    if task.classification and "sample_weight" in inspect.signature(model.steps[-1][1].fit).parameters:
        fit_params[f"{model.steps[-1][0]}__sample_weight"] = targets @ task.weights(sources["train"].targets())  # class weights
    model.fit(np.stack(instances), targets.argmax(axis=1) if task.classification else targets, **fit_params)
    log(f"{name}: fitted on {len(instances)} instances of {len(sources['train'].rows)} training clips")
    with atomic_path(outputs.model) as tmp:
        tmp.write_bytes(pickle.dumps(model))

    def probabilities(batch):
        columns = np.zeros((len(batch), len(task.classes)), np.float32)
        columns[:, model.classes_] = model.predict_proba(batch)
        return columns

    write_predictions(outputs, sources, probabilities if task.classification else model.predict, excluded, log=log)
