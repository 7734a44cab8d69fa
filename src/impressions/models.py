"""Model builders, one function per model, registered by name so config.yaml can choose them."""

from __future__ import annotations

from typing import Callable

import keras

from impressions import TRAITS

MODELS: dict[str, Callable[..., keras.Model]] = {}


def register(name: str) -> Callable:
    """Register a model builder under `name` (the name used in config.yaml and result paths)."""

    def add(builder: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        MODELS[name] = builder
        return builder

    return add


def build(name: str, **params) -> keras.Model:
    """Build a registered model; an unknown name is an error that lists the known ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models are {sorted(MODELS)}")
    return MODELS[name](**params)


@register("vggish_head")
def vggish_head(*, input_dim: int = 640, hidden_units: int = 256, dropout: float = 0.3, seed: int = 0) -> keras.Model:
    """Regression head on flattened VGGish embeddings (seed 000): 5 x 128 -> 640 -> 5 traits.

    The first layer standardises each input with statistics adapted on the training split
    (`adapt_standardize`); the sigmoid output keeps predictions in [0, 1] like the labels.
    """
    inputs = keras.Input((input_dim,), name="embeddings")
    x = keras.layers.Normalization(name="standardize")(inputs)
    x = keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed), name="hidden")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(len(TRAITS), activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(seed + 1), name="traits")(x)
    return keras.Model(inputs, outputs, name="vggish_head")
