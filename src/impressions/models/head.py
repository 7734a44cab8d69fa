"""The seed-000 head: a dense network on the first seconds of VGGish embeddings."""

from __future__ import annotations

import keras

from impressions.models.output_layer import N_OUTPUTS, output_units


def vggish_head(
    *, input_dim: int = 640, hidden_units: int = 256, dropout: float = 0.3, output_activation: str = "sigmoid", n_outputs: int = N_OUTPUTS, seed: int = 0
) -> keras.Model:
    """Head on VGGish embeddings (seed 000): 5 x 128 flattened -> 640 -> 5 traits (or classes).

    The first layer standardises each input with statistics the training code adapts on the
    training split. The default sigmoid output keeps predictions in [0, 1] like the labels;
    ``output_activation="linear"`` suits standardised targets and class logits. Its input is the
    first seconds flattened, or (clips shorter than that) the mean and standard deviation of the
    clip's embeddings (`impressions.models.instances.pooled_embeddings`).
    """
    inputs = keras.Input((input_dim,), name="embeddings")
    x = keras.layers.Normalization(name="standardize")(inputs)
    x = keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed), name="hidden")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + 1)
    return keras.Model(inputs, outputs, name="vggish_head")
