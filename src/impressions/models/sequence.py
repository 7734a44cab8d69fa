"""Sequence models that relate a word to the voice and the face at the moment it was said.

Two answers our field uses: `aligned_gru` reads the modalities on one clock (the aligned cache's
steps), `crossmodal_attention` reads each at its own rate and learns the alignment with
cross-modal attention (Tsai et al. 2019, MulT). Both pool over time by attention; the weights of the
pooling layer (`AttentionPooling`, its second output) are what the attention stage draws.
"""

from __future__ import annotations

import keras
from keras import ops

from impressions.models.output_layer import N_OUTPUTS, output_units


@keras.saving.register_keras_serializable(package="impressions")
class AttentionPooling(keras.layers.Layer):
    """(batch, time, features) and a (batch, time) mask -> the weighted sum over time and the weights.

    A step's score is a dense unit of its vector; the weights are the softmax of the scores over
    the unmasked steps (computed in float32, so a mixed-precision model pools the same way).
    """

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True  # the mask is the second input; a Keras mask on the values is not passed on
        self.score = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed), name="score")

    def build(self, input_shape):
        self.score.build(input_shape[0])
        super().build(input_shape)

    def call(self, inputs):
        values, mask = inputs
        scores = ops.cast(ops.squeeze(self.score(values), -1), "float32")
        scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        pooled = ops.sum(ops.cast(weights, values.dtype)[..., None] * values, axis=1)
        return pooled, weights

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        values_shape = input_shape[0]
        return (values_shape[0], values_shape[2]), values_shape[:2]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _frame_encoder(frames, *, filters: tuple[int, ...], seed: int, name: str):
    """uint8 frames (batch, time, H, W, 3) -> (batch, time, filters[-1]): small strided convs per frame, averaged over the frame."""
    x = keras.layers.Rescaling(1 / 255.0, name=f"{name}_scale")(frames)
    for index, width in enumerate(filters):
        conv = keras.layers.Conv2D(width, 3, strides=2, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed + index))
        x = keras.layers.TimeDistributed(conv, name=f"{name}_frame{index + 1}")(x)
    return keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D(), name=f"{name}_average")(x)


def _dense(units: int, *, seed: int, name: str, activation: str = "relu"):
    return keras.layers.Dense(units, activation=activation, kernel_initializer=keras.initializers.HeNormal(seed), name=name)


def aligned_gru(
    *,
    steps: int = 67,
    bands: int = 64,
    frame_shape: tuple[int, int, int] | None = (36, 64, 3),
    text_dim: int | None = None,
    units: int = 32,
    frame_filters: tuple[int, ...] = (8, 16),
    dropout: float = 0.2,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """Per-step concatenation of the modalities, a bidirectional GRU, attention pooling.

    Inputs (the aligned cache, `impressions.models.instances.aligned_steps`): ``audio`` (steps,
    bands) log-mel, standardised per band on the training split; ``mask`` (steps,) 1 inside the
    clip; ``video`` (steps, H, W, 3) uint8 where the dataset has video; ``text`` (steps, text_dim)
    hashed words where it has text. A step's vector is [audio, frame code, text code] through a
    dense layer, so that a word and the voice at the same step meet in one unit.
    """
    inputs = {"audio": keras.Input((steps, bands), name="audio"), "mask": keras.Input((steps,), dtype="uint8", name="mask")}
    parts = [keras.layers.Normalization(axis=-1, name="audio_standardize")(inputs["audio"])]
    if frame_shape is not None:
        inputs["video"] = keras.Input((steps, *frame_shape), dtype="uint8", name="video")
        parts.append(_frame_encoder(inputs["video"], filters=frame_filters, seed=seed + 10, name="video"))
    if text_dim:
        inputs["text"] = keras.Input((steps, text_dim), name="text")
        parts.append(_dense(units, seed=seed + 20, name="text_dense")(inputs["text"]))
    x = keras.layers.Concatenate(name="step_concat")(parts) if len(parts) > 1 else parts[0]
    x = _dense(2 * units, seed=seed + 30, name="step_dense")(x)
    x = keras.layers.Dropout(dropout, seed=seed + 31, name="step_dropout")(x)
    mask = ops.cast(inputs["mask"], "bool")
    gru = keras.layers.GRU(
        units,
        return_sequences=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed + 40),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 41),
    )
    x = keras.layers.Bidirectional(gru, name="bigru")(x, mask=mask)
    pooled, _ = AttentionPooling(seed=seed + 50, name="attention_pool")([x, inputs["mask"]])
    x = keras.layers.Dropout(dropout, seed=seed + 51, name="pool_dropout")(pooled)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + 60)
    return keras.Model(inputs, outputs, name="aligned_gru")


def crossmodal_attention(
    *,
    audio_shape: tuple[int, int] = (500, 128),
    frames_shape: tuple[int, int, int, int] = (6, 72, 128, 3),
    tokens_shape: tuple[int, int] | None = None,
    time_dim: int = 10,
    units: int = 32,
    heads: int = 2,
    frame_filters: tuple[int, ...] = (8, 16),
    dropout: float = 0.2,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """Each modality at its own rate, cross-modal attention between them, attention pooling.

    Inputs (`impressions.models.instances.unaligned_streams`): ``audio`` (frames, mels) log-mel in
    dB at 31.25 frames a second with ``audio_mask``; ``frames`` (n, H, W, 3) uint8 with
    ``frames_mask``; where the dataset has text, ``tokens`` (n, dim) hashed words with
    ``tokens_mask``; and each stream's ``<stream>_time``, a sinusoidal code of each element's
    time in seconds (`time_dim` values), the only thing that tells the model when things happen.
    Each stream, coded to `units`, attends to the others' elements (Keras ``MultiHeadAttention``,
    padding masked out), keeps a residual and a layer norm, and is pooled by attention; the audio
    stream's pooling weights (layer ``audio_pool``) are the model's attention over time.
    """
    shapes = {"audio": audio_shape, "frames": frames_shape, **({"tokens": tokens_shape} if tokens_shape else {})}
    inputs, coded = {}, {}
    for index, (stream, shape) in enumerate(shapes.items()):
        inputs[stream] = keras.Input(shape, dtype="uint8" if stream == "frames" else "float32", name=stream)
        inputs[f"{stream}_mask"] = keras.Input(shape[:1], dtype="uint8", name=f"{stream}_mask")
        inputs[f"{stream}_time"] = keras.Input((shape[0], time_dim), name=f"{stream}_time")
        if stream == "frames":
            x = _frame_encoder(inputs[stream], filters=frame_filters, seed=seed + 10, name="frames")
        elif stream == "audio":
            x = keras.layers.Normalization(axis=-1, name="audio_standardize")(inputs[stream])
        else:
            x = inputs[stream]
        x = keras.layers.Concatenate(name=f"{stream}_with_time")([x, inputs[f"{stream}_time"]])
        coded[stream] = _dense(units, seed=seed + 100 * (index + 1), name=f"{stream}_code")(x)
    pooled = []
    for index, (stream, x) in enumerate(coded.items()):
        others = [other for other in coded if other != stream]
        keys = keras.layers.Concatenate(axis=1, name=f"{stream}_keys")([coded[other] for other in others])
        key_mask = keras.layers.Concatenate(axis=1, name=f"{stream}_key_mask")([inputs[f"{other}_mask"] for other in others])
        mask = ops.cast(inputs[f"{stream}_mask"], "bool")[:, :, None] & ops.cast(key_mask, "bool")[:, None, :]
        attend = keras.layers.MultiHeadAttention(
            heads, units, kernel_initializer=keras.initializers.GlorotUniform(seed + 500 + index), name=f"{stream}_attends"
        )
        x = keras.layers.LayerNormalization(name=f"{stream}_norm")(x + attend(x, keys, attention_mask=mask))
        x = keras.layers.Dropout(dropout, seed=seed + 600 + index, name=f"{stream}_dropout")(x)
        vector, _ = AttentionPooling(seed=seed + 700 + index, name=f"{stream}_pool")([x, inputs[f"{stream}_mask"]])
        pooled.append(vector)
    x = keras.layers.Concatenate(name="streams")(pooled)
    x = _dense(2 * units, seed=seed + 800, name="fusion_dense")(x)
    x = keras.layers.Dropout(dropout, seed=seed + 801, name="fusion_dropout")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + 900)
    return keras.Model(inputs, outputs, name="crossmodal_attention")
