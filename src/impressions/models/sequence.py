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
    """[values (batch, time, features), mask (batch, time)] -> the weighted sum over time and the weights;
    with a third input, (batch, time, any), the steps are scored from it instead of from the values.

    A step's score is a dense unit of its vector; the weights are the softmax of the scores over
    the unmasked steps (computed in float32, so a mixed-precision model pools the same way).
    Scoring from each step's own inputs (not from a recurrent layer's outputs, which carry the
    whole clip) makes the weights say when the telling thing happened.
    """

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True  # the mask is the second input; a Keras mask on the values is not passed on
        self.score = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed), name="score")

    def build(self, input_shape):
        self.score.build(input_shape[-1] if len(input_shape) > 2 else input_shape[0])
        super().build(input_shape)

    def call(self, inputs):
        values, mask = inputs[0], inputs[1]
        scored = inputs[2] if len(inputs) > 2 else values
        scores = ops.cast(ops.squeeze(self.score(scored), -1), "float32")
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


@keras.saving.register_keras_serializable(package="impressions")
class MaskedMean(keras.layers.Layer):
    """(batch, time, features) and a (batch, time) mask -> the mean over the real steps."""

    def call(self, inputs):
        values, mask = inputs
        weights = ops.cast(mask, values.dtype)[..., None]
        return ops.sum(values * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="impressions")
class ClipDeviation(keras.layers.Layer):
    """(batch, time, features) and a mask -> each step less the clip's mean over its real steps
    (0 on padding): a change of voice against the speaker's own level."""

    def call(self, inputs):
        values, mask = inputs
        weights = ops.cast(mask, values.dtype)[..., None]
        mean = ops.sum(values * weights, axis=1, keepdims=True) / ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
        return (values - mean) * weights

    def compute_mask(self, inputs, mask=None):
        return None


def _dense(units: int, *, seed: int, name: str, activation: str = "relu"):
    return keras.layers.Dense(units, activation=activation, kernel_initializer=keras.initializers.HeNormal(seed), name=name)


def aligned_gru(
    *,
    steps: int = 67,
    bands: int = 64,
    video_dim: int | None = 9,
    text_dim: int | None = None,
    units: int = 64,
    dropout: float = 0.2,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """Per-step concatenation of the modalities, a bidirectional GRU, attention and mean pooling.

    Inputs (the aligned cache, `impressions.models.instances.aligned_steps`): ``audio`` (steps,
    bands) log-mel, standardised per band on the training split, and beside it its deviation
    from the clip's mean (a change of voice against the speaker's own level); ``mask`` (steps,) 1
    inside the clip; ``video`` (steps, video_dim) the colour and motion descriptors of each step's
    frame, standardised, where the dataset has video; ``text`` (steps, text_dim) hashed words where
    it has text, through a dense layer and, beside it, a low-rank bilinear code of the word with
    the voice at the same step (the elementwise product of a code of the words, zero where none is
    said, and a code of the voice): what a word said with a change of voice looks like. A step's
    vector is all of them through one dense layer; the clip's vector is the GRU's outputs pooled
    by their mean and by attention, whose scores come from each step's own vector (not from the
    GRU's, which carry the whole clip), so its weights say when the telling thing happened.
    """
    inputs = {"audio": keras.Input((steps, bands), name="audio"), "mask": keras.Input((steps,), dtype="uint8", name="mask")}
    audio = keras.layers.Normalization(axis=-1, name="audio_standardize")(inputs["audio"])
    voice = keras.layers.Concatenate(name="audio_and_deviation")([audio, ClipDeviation(name="audio_deviation")([audio, inputs["mask"]])])
    parts = [voice]
    if video_dim:
        inputs["video"] = keras.Input((steps, video_dim), name="video")
        parts.append(keras.layers.Normalization(axis=-1, name="video_standardize")(inputs["video"]))
    if text_dim:
        inputs["text"] = keras.Input((steps, text_dim), name="text")
        words = _dense(units, seed=seed + 20, name="text_dense")(inputs["text"])
        said = keras.layers.Dense(units, use_bias=False, kernel_initializer=keras.initializers.GlorotUniform(seed + 21), name="word_code")(inputs["text"])
        heard = keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(seed + 22), name="voice_code")(voice)
        parts += [words, keras.layers.Multiply(name="word_with_voice")([said, heard])]
    x = keras.layers.Concatenate(name="step_concat")(parts) if len(parts) > 1 else parts[0]
    steps_in = _dense(2 * units, seed=seed + 30, name="step_dense")(x)
    x = keras.layers.Dropout(dropout, seed=seed + 31, name="step_dropout")(steps_in)
    mask = ops.cast(inputs["mask"], "bool")
    gru = keras.layers.GRU(
        units,
        return_sequences=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed + 40),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 41),
    )
    x = keras.layers.Bidirectional(gru, name="bigru")(x, mask=mask)
    pooled, _ = AttentionPooling(seed=seed + 50, name="attention_pool")([x, inputs["mask"], steps_in])
    mean = MaskedMean(name="mean_pool")([x, inputs["mask"]])
    x = keras.layers.Concatenate(name="pools")([pooled, mean])
    x = keras.layers.Dropout(dropout, seed=seed + 51, name="pool_dropout")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + 60)
    return keras.Model(inputs, outputs, name="aligned_gru")


def crossmodal_attention(
    *,
    audio_shape: tuple[int, int] = (500, 128),
    frames_shape: tuple[int, int] = (6, 9),
    tokens_shape: tuple[int, int] | None = None,
    time_dim: int = 10,
    units: int = 32,
    heads: int = 2,
    dropout: float = 0.2,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """Each modality at its own rate, cross-modal attention between them, attention pooling.

    Inputs (`impressions.models.instances.unaligned_streams`): ``audio`` (frames, mels) log-mel in
    dB at 31.25 frames a second with ``audio_mask``; ``frames`` (n, 9) the colour and motion
    descriptors of each of the clip's frames with ``frames_mask``; where the dataset has text,
    ``tokens`` (n, dim) hashed words with ``tokens_mask``; and each stream's ``<stream>_time``, a
    sinusoidal code of each element's time in seconds (`time_dim` values), the only thing that
    tells the model when things happen. The audio is standardised per band and, beside it, its
    deviation from the clip's mean (a change of voice). Each stream, coded to `units`, attends to
    the others' elements (Keras ``MultiHeadAttention``, padding masked out), keeps a residual and a
    layer norm, and is pooled by attention and by its mean; the audio stream's pooling weights
    (layer ``audio_pool``) are the model's attention over time.
    """
    shapes = {"audio": audio_shape, "frames": frames_shape, **({"tokens": tokens_shape} if tokens_shape else {})}
    inputs, coded = {}, {}
    for index, (stream, shape) in enumerate(shapes.items()):
        inputs[stream] = keras.Input(shape, name=stream)
        inputs[f"{stream}_mask"] = keras.Input(shape[:1], dtype="uint8", name=f"{stream}_mask")
        inputs[f"{stream}_time"] = keras.Input((shape[0], time_dim), name=f"{stream}_time")
        x = inputs[stream]
        if stream != "tokens":
            x = keras.layers.Normalization(axis=-1, name=f"{stream}_standardize")(x)
        if stream == "audio":
            x = keras.layers.Concatenate(name="audio_and_deviation")([x, ClipDeviation(name="audio_deviation")([x, inputs["audio_mask"]])])
        x = keras.layers.Concatenate(name=f"{stream}_with_time")([x, inputs[f"{stream}_time"]])
        coded[stream] = _dense(units, seed=seed + 100 * (index + 1), name=f"{stream}_code")(x)
    pooled = []
    for index, (stream, x) in enumerate(coded.items()):
        others = [other for other in coded if other != stream]
        keys = keras.layers.Concatenate(axis=1, name=f"{stream}_keys")([coded[other] for other in others])
        key_mask = keras.layers.Concatenate(axis=1, name=f"{stream}_key_mask")([inputs[f"{other}_mask"] for other in others])
        mask = ops.cast(inputs[f"{stream}_mask"], "bool")[:, :, None] & ops.cast(key_mask, "bool")[:, None, :]
        initial = keras.initializers.GlorotUniform(seed + 500 + index)
        attend = keras.layers.MultiHeadAttention(heads, units, kernel_initializer=initial, name=f"{stream}_attends")
        x = keras.layers.LayerNormalization(name=f"{stream}_norm")(x + attend(x, keys, attention_mask=mask))
        x = keras.layers.Dropout(dropout, seed=seed + 600 + index, name=f"{stream}_dropout")(x)
        vector, _ = AttentionPooling(seed=seed + 700 + index, name=f"{stream}_pool")([x, inputs[f"{stream}_mask"]])
        pooled += [vector, MaskedMean(name=f"{stream}_mean")([x, inputs[f"{stream}_mask"]])]
    x = keras.layers.Concatenate(name="streams")(pooled)
    x = _dense(2 * units, seed=seed + 800, name="fusion_dense")(x)
    x = keras.layers.Dropout(dropout, seed=seed + 801, name="fusion_dropout")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + 900)
    return keras.Model(inputs, outputs, name="crossmodal_attention")
