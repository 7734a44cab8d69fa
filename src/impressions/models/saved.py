"""Loading trained Keras models: a model's builder module registers its custom layers first."""

from __future__ import annotations

import importlib
import os

import keras

from impressions.models.registry import spec


def load_model(name: str, path: str | os.PathLike) -> keras.Model:
    """Load the trained model `name` saved at `path` (uncompiled: for prediction, maps, fine-tuning)."""
    importlib.import_module(spec(name).builder_module)
    return keras.saving.load_model(path, compile=False)
