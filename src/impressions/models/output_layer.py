"""What every model builder shares: the ``outputs`` layer and the check of a choice.

Every model ends in ``outputs``: Dense(n_outputs), one unit per output of the dataset's task
(`impressions.models.task.Task.outputs`): a score per target (by default the five traits in
`TRAITS` order), or a logit per class (linear; the softmax is applied when predicting).
"""

from __future__ import annotations

import keras

from impressions import TRAITS
from impressions.io.errors import InputError

OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


def check_choice(param: str, value: str, allowed: tuple[str, ...]) -> None:
    """Reject a config value outside `allowed`, naming the parameter and the allowed values."""
    if value not in allowed:
        raise InputError(f"{param}={value!r} is not supported; choose one of {list(allowed)}")


N_OUTPUTS = len(TRAITS)
"""The builders' default: the Big Five."""


def output_units(x, *, n_outputs: int, output_activation: str, seed: int):
    """The output layer every model shares: Dense(n_outputs) named ``outputs``."""
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    return keras.layers.Dense(n_outputs, activation=output_activation, kernel_initializer=keras.initializers.GlorotUniform(seed), name="outputs")(x)
