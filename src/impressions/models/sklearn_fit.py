"""Training and prediction of the scikit-learn models (KNN), on instances from the caches."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd

from impressions.io.atomic import atomic_path
from impressions.models import registry
from impressions.models.inputs import read_sources, write_predictions


def train_sklearn(name: str, *, manifest: str | os.PathLike, caches: dict[str, list[str]], settings: dict, outputs, log=print) -> None:
    """Fit a registered scikit-learn model on every training instance and predict every split.

    Each instance (for KNN, each 0.96 s VGGish window) is labelled with its clip's targets; a
    clip's prediction is the mean of its instances' predictions. (For KNN on the training split
    each window finds itself at distance 0, so train scores are perfect by construction.)

    Parameters
    ----------
    caches : cache family -> the paths of its shard files
    settings : the model's section of config.yaml (its builder's arguments, and its entry's
        ``input_settings``)
    outputs : ``model`` (.pkl), ``excluded`` (tsv), ``predictions`` (one csv per split, in SPLITS order)
    """
    sources = read_sources(name, manifest, caches, settings)
    excluded = pd.concat([source.excluded() for source in sources.values()], ignore_index=True)
    instances, targets = [], []
    for index, clip_instances in sources["train"].clips():
        instances += clip_instances
        targets += [sources["train"].targets()[index]] * len(clip_instances)
    spec = registry.spec(name)
    model = spec.build(**{k: v for k, v in settings.items() if k not in spec.input_settings})
    model.fit(np.stack(instances), np.stack(targets))
    log(f"{name}: fitted on {len(instances)} instances of {len(sources['train'].rows)} training clips")
    with atomic_path(outputs.model) as tmp:
        tmp.write_bytes(pickle.dumps(model))
    write_predictions(outputs, sources, model.predict, excluded, log=log)
