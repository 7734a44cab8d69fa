"""Conv stacks on spectrograms and the raw-wave FFT (seed 001), plain and with CAM heads.

Layer names are what the rest of the code finds: ``standardize`` (adapted by training),
``conv{N}`` and ``gap`` (the CAM stage), ``outputs`` (the output). Nothing here assumes a CPU
or a GPU.
"""

from __future__ import annotations

import keras

from impressions.models.output_layer import N_OUTPUTS, output_units


def _conv_stack(x, *, filters: tuple[int, ...], kernel_size: int, pool_last: bool, seed: int):
    """VGGish-style stack: ``conv{i}`` (same padding, ReLU) then ``pool{i}`` (2), i = 1..N.

    `pool_last=False` leaves the last conv unpooled so its maps keep their resolution for CAMs.
    The rank of `x` picks 1-D or 2-D layers. The conv names and kernel shapes depend only on
    `filters` and `kernel_size`, so a plain CNN's conv weights fit the CAM CNN by name.
    """
    conv, pool = (keras.layers.Conv2D, keras.layers.MaxPooling2D) if len(x.shape) == 4 else (keras.layers.Conv1D, keras.layers.MaxPooling1D)
    for i, f in enumerate(filters, 1):
        x = conv(f, kernel_size, padding="same", activation="relu", kernel_initializer=keras.initializers.HeNormal(seed + i), name=f"conv{i}")(x)
        if pool_last or i < len(filters):
            x = pool(2, name=f"pool{i}")(x)
    return x


def _spectrogram_input(shape: tuple[int, int], name: str):
    """Input (frames, bands) standardised by one scalar mean/variance, plus a channel axis.

    The training code adapts ``standardize`` on the training split; unadapted it is the identity.
    """
    inputs = keras.Input(shape, name=name)
    x = keras.layers.Normalization(axis=None, name="standardize")(inputs)
    x = keras.layers.Reshape((*shape, 1), name="add_channel")(x)
    return inputs, x


def _spectrogram_cnn(name, shape, input_name, *, filters, dense_units, dropout, output_activation, n_outputs, seed) -> keras.Model:
    """Conv stack -> flatten -> dense -> dropout -> outputs (the regular CNN)."""
    inputs, x = _spectrogram_input(shape, input_name)
    x = _conv_stack(x, filters=filters, kernel_size=3, pool_last=True, seed=seed)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed + len(filters) + 1), name="dense")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + len(filters) + 2)
    return keras.Model(inputs, outputs, name=name)


def _cam_cnn(name, inputs, x, *, filters, kernel_size, output_activation, n_outputs, seed) -> keras.Model:
    """Conv stack without a last pool -> global average pooling -> outputs (the CAM CNN).

    With a linear output, CAM_t = sum_k w[k, t] F_k over the ``conv{N}`` maps F, and the mean of
    CAM_t over space (or time) plus the bias of output t is output t (a trait's score, a class's logit).
    """
    x = _conv_stack(x, filters=filters, kernel_size=kernel_size, pool_last=False, seed=seed)
    x = (keras.layers.GlobalAveragePooling2D if len(x.shape) == 4 else keras.layers.GlobalAveragePooling1D)(name="gap")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + len(filters) + 2)
    return keras.Model(inputs, outputs, name=name)


def clip_cnn(
    *,
    frames: int = 96,
    bands: int = 64,
    filters: tuple[int, ...] = (16, 32, 64, 64),
    dense_units: int = 64,
    dropout: float = 0.3,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """CNN on one 0.96 s log-mel patch (seed 001); a clip's score is the mean over its patches.

    Parameters
    ----------
    frames, bands : int
        Patch shape, time first: input ``log_mel`` [shape=(batch, frames, bands)].
    filters : tuple of int
        Filters of conv1..convN, each followed by a 2 x 2 max-pool (so 2**N must fit the patch).

    Returns
    -------
    keras.Model
        ``clip_cnn``: (batch, frames, bands) -> ``outputs`` (batch, n_outputs).
    """
    return _spectrogram_cnn(
        "clip_cnn",
        (frames, bands),
        "log_mel",
        filters=filters,
        dense_units=dense_units,
        dropout=dropout,
        output_activation=output_activation,
        n_outputs=n_outputs,
        seed=seed,
    )


def clip_cam_cnn(
    *,
    frames: int = 96,
    bands: int = 64,
    filters: tuple[int, ...] = (16, 32, 64, 64),
    output_activation: str = "linear",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """CAM CNN on one log-mel patch: `clip_cnn`'s convs, no last pool, GAP, linear outputs.

    Fine-tuned from a trained `clip_cnn` through `copy_conv_weights` (same conv names and
    shapes). The linear output is what makes the class activation maps add up to the prediction.

    Returns
    -------
    keras.Model
        ``clip_cam_cnn``: ``log_mel`` (batch, frames, bands) -> ``outputs`` (batch, n_outputs); the CAM
        feature maps are the output of layer ``conv{N}``, N = len(filters).
    """
    inputs, x = _spectrogram_input((frames, bands), "log_mel")
    return _cam_cnn("clip_cam_cnn", inputs, x, filters=filters, kernel_size=3, output_activation=output_activation, n_outputs=n_outputs, seed=seed)


def summary_cnn(
    *,
    frames: int = 208,
    bands: int = 64,
    filters: tuple[int, ...] = (16, 32, 64, 64),
    dense_units: int = 64,
    dropout: float = 0.3,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """`clip_cnn` on a clip's summary spectrogram, input ``summary`` (batch, frames, bands)."""
    return _spectrogram_cnn(
        "summary_cnn",
        (frames, bands),
        "summary",
        filters=filters,
        dense_units=dense_units,
        dropout=dropout,
        output_activation=output_activation,
        n_outputs=n_outputs,
        seed=seed,
    )


def summary_cam_cnn(
    *,
    frames: int = 208,
    bands: int = 64,
    filters: tuple[int, ...] = (16, 32, 64, 64),
    output_activation: str = "linear",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """`clip_cam_cnn` on the summary spectrogram, fine-tuned from `summary_cnn`."""
    inputs, x = _spectrogram_input((frames, bands), "summary")
    return _cam_cnn("summary_cam_cnn", inputs, x, filters=filters, kernel_size=3, output_activation=output_activation, n_outputs=n_outputs, seed=seed)


def rawwav_cam_cnn(
    *,
    frames: int = 405,
    bins: int = 129,
    filters: tuple[int, ...] = (32, 64, 64),
    kernel_size: int = 5,
    output_activation: str = "linear",
    n_outputs: int = N_OUTPUTS,
    seed: int = 0,
) -> keras.Model:
    """1-D CAM CNN on the raw-wave FFT features: time first, frequency bins as channels.

    Returns
    -------
    keras.Model
        ``rawwav_cam_cnn``: ``rawwave`` (batch, frames, bins) -> ``outputs`` (batch, n_outputs); the CAM
        over time is built from the ``conv{N}`` output (batch, frames / 2**(N-1), filters[-1]).
    """
    inputs = keras.Input((frames, bins), name="rawwave")
    x = keras.layers.Normalization(axis=None, name="standardize")(inputs)
    return _cam_cnn("rawwav_cam_cnn", inputs, x, filters=filters, kernel_size=kernel_size, output_activation=output_activation, n_outputs=n_outputs, seed=seed)
