"""Seed 004's model: StandardScaler + k nearest neighbours, as a scikit-learn pipeline."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def knn(*, n_neighbors: int = 3, weights: str = "distance") -> Pipeline:
    """StandardScaler + KNN regression on per-window VGGish embeddings (one target per trait)."""
    return make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=n_neighbors, weights=weights))
