"""Seed 004's model: StandardScaler + k nearest neighbours, as a scikit-learn pipeline."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def knn(*, n_neighbors: int = 3, weights: str = "distance", classification: bool = False) -> Pipeline:
    """StandardScaler + KNN on per-window VGGish embeddings: regression (one target per trait), or
    classification (the audio-challenge approach: a clip's class probabilities are the mean of
    its windows')."""
    estimator = KNeighborsClassifier if classification else KNeighborsRegressor
    return make_pipeline(StandardScaler(), estimator(n_neighbors=n_neighbors, weights=weights))
