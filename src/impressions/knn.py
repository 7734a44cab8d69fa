"""Seed 004's model: StandardScaler + k nearest neighbours on per-window VGGish embeddings."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from impressions.atomic import atomic_path
from impressions.inputs import read_sources, write_predictions


def train_knn(name: str, *, manifest: str | os.PathLike, caches: dict[str, list[str]], settings: dict, outputs, log=print) -> None:
    """Seed 004: StandardScaler + k nearest neighbours on per-window VGGish embeddings.

    Every 0.96 s window is labelled with its clip's targets; a clip's prediction is the mean of
    its windows' predictions. (On the training split each window finds itself at distance 0, so
    train scores are perfect by construction.)
    """
    sources = read_sources(name, manifest, caches, settings)
    excluded = pd.concat([source.excluded() for source in sources.values()], ignore_index=True)
    windows, targets = [], []
    for index, instances in sources["train"].clips():
        windows += instances
        targets += [sources["train"].targets()[index]] * len(instances)
    model = make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=settings["n_neighbors"], weights=settings["weights"]))
    model.fit(np.stack(windows), np.stack(targets))
    log(f"{name}: fitted on {len(windows)} windows of {len(sources['train'].rows)} training clips")
    with atomic_path(outputs.model) as tmp:
        tmp.write_bytes(pickle.dumps(model))
    write_predictions(outputs, sources, model.predict, excluded, log=log)
