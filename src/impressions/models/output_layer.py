"""What every model builder shares: the ``traits`` output layer and the check of a choice.

Every model ends in ``traits``: Dense(5), one score per trait in `TRAITS` order.
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


def traits_output(x, *, output_activation: str, seed: int):
    """The output layer every model shares: Dense(5) named ``traits``."""
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    return keras.layers.Dense(len(TRAITS), activation=output_activation, kernel_initializer=keras.initializers.GlorotUniform(seed), name="traits")(x)
