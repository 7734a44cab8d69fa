"""Audio-visual fusion (seed 002): an MFCC subnet and a frame-wise visual subnet, concatenated."""

from __future__ import annotations

import keras
from keras import ops

from impressions.io.errors import InputError
from impressions.models.output_layer import N_OUTPUTS, check_choice, output_units

AUDIO_SUBNETS = ("blstm", "conv1d_lstm", "conv2d")
VISUAL_BACKBONES = ("vgg", "resnet50")
TEMPORAL_POOLING = ("max", "gru")


@keras.saving.register_keras_serializable(package="impressions")
class TrainRandomCrop(keras.layers.Layer):
    """Random (height, width) crop in training, the centre crop otherwise.

    `keras.layers.RandomCrop` (Keras 3.15) returns the image uncropped at inference, so its
    output shape would change between training and prediction. The crop offset is drawn per
    sample, so frames stacked on the channel axis share their clip's crop.
    """

    def __init__(self, height: int, width: int, *, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.seed = height, width, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        in_height, in_width = images.shape[-3], images.shape[-2]
        if not training:
            top, left = (in_height - self.height) // 2, (in_width - self.width) // 2
            return images[..., top : top + self.height, left : left + self.width, :]
        batch = ops.shape(images)[0]
        top = ops.cast(keras.random.uniform((batch,), 0, in_height - self.height + 1, seed=self.generator), "int32")
        left = ops.cast(keras.random.uniform((batch,), 0, in_width - self.width + 1, seed=self.generator), "int32")
        rows = ops.minimum(top, in_height - self.height)[:, None] + ops.arange(self.height, dtype="int32")
        cols = ops.minimum(left, in_width - self.width)[:, None] + ops.arange(self.width, dtype="int32")
        images = ops.take_along_axis(images, ops.reshape(rows, (-1, self.height, 1, 1)), axis=1)
        return ops.take_along_axis(images, ops.reshape(cols, (-1, 1, self.width, 1)), axis=2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "seed": self.seed}


@keras.saving.register_keras_serializable(package="impressions")
class CaffeImagePreprocess(keras.layers.Layer):
    """RGB in [0, 1] -> the BGR, mean-subtracted 0..255 input Keras' ResNet50 weights expect.

    So a local ImageNet weights file (`resnet_weights`) sees the inputs it was trained on.
    """

    def call(self, images):
        bgr = ops.flip(images * 255.0, axis=-1)
        return bgr - ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=bgr.dtype)


def _lstm(units: int, *, seed: int, **kwargs) -> keras.layers.LSTM:
    """An LSTM with seeded input and recurrent initialisers (each direction its own seed)."""
    return keras.layers.LSTM(
        units, kernel_initializer=keras.initializers.GlorotUniform(seed), recurrent_initializer=keras.initializers.Orthogonal(seed=seed), **kwargs
    )


def _audio_subnet(mfcc, *, audio: str, dropout: float, seed: int):
    """MFCCs (24, M, 1) -> a 128-d clip vector, by BLSTM, Conv1D + LSTM or Conv2D."""
    check_choice("audio", audio, AUDIO_SUBNETS)
    coefficients, steps = mfcc.shape[1], mfcc.shape[2]
    x = keras.layers.Normalization(axis=1, name="mfcc_standardize")(mfcc)  # per coefficient
    if audio in ("blstm", "conv1d_lstm"):
        x = keras.layers.Reshape((coefficients, steps), name="audio_squeeze")(x)
        x = keras.layers.Permute((2, 1), name="audio_time_major")(x)  # (M, 24)
    if audio == "blstm":
        forward, backward = _lstm(64, seed=seed + 1, return_sequences=True), _lstm(64, seed=seed + 2, return_sequences=True, go_backwards=True)
        x = keras.layers.Bidirectional(forward, backward_layer=backward, name="audio_blstm1")(x)
        x = keras.layers.Dropout(dropout, seed=seed + 3, name="audio_dropout")(x)
        forward, backward = _lstm(64, seed=seed + 4), _lstm(64, seed=seed + 5, go_backwards=True)
        x = keras.layers.Bidirectional(forward, backward_layer=backward, name="audio_blstm2")(x)
    elif audio == "conv1d_lstm":
        for i in (1, 2, 3):
            x = keras.layers.Conv1D(64, 3, padding="same", use_bias=False, kernel_initializer=keras.initializers.HeNormal(seed + i), name=f"audio_conv{i}")(x)
            x = keras.layers.BatchNormalization(name=f"audio_bn{i}")(x)
            x = keras.layers.ReLU(name=f"audio_relu{i}")(x)
        x = _lstm(64, seed=seed + 4, name="audio_lstm")(x)
        x = keras.layers.Dropout(dropout, seed=seed + 5, name="audio_dropout")(x)
    else:  # conv2d on (24, M, 1)
        for i in (1, 2):
            x = keras.layers.Conv2D(32, 3, padding="same", use_bias=False, kernel_initializer=keras.initializers.HeNormal(seed + i), name=f"audio_conv{i}")(x)
            x = keras.layers.BatchNormalization(name=f"audio_bn{i}")(x)
            x = keras.layers.ReLU(name=f"audio_relu{i}")(x)
            x = keras.layers.MaxPooling2D(2, name=f"audio_pool{i}")(x)
        x = keras.layers.Flatten(name="audio_flatten")(x)
    return keras.layers.Dense(128, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed + 9), name="audio_dense")(x)


def _vgg_backbone(*, crop: int, filters: tuple[int, ...], seed: int) -> keras.Model:
    """Small VGG-like frame encoder: blocks of 2 x Conv2D(f, 3) + max-pool, GAP, Dense(128)."""
    frame = keras.Input((crop, crop, 3), name="frame")
    x = frame
    for b, f in enumerate(filters, 1):
        for j in (1, 2):
            init = keras.initializers.HeNormal(seed + 2 * b + j)
            x = keras.layers.Conv2D(f, 3, padding="same", activation="relu", kernel_initializer=init, name=f"block{b}_conv{j}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(128, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed), name="dense")(x)
    return keras.Model(frame, x, name="vgg_backbone")


def _resnet50_backbone(*, crop: int, weights: str | None, seed: int) -> keras.Model:
    """ResNet50 (no top, average-pooled) -> Dense(128); `weights` None or a local file, never a download.

    ResNet50's own initialisers are unseeded; `keras.utils.set_random_seed` fixes them.
    """
    frame = keras.Input((crop, crop, 3), name="frame")
    x = CaffeImagePreprocess(name="caffe_preprocess")(frame)
    x = keras.applications.ResNet50(include_top=False, weights=weights, input_shape=(crop, crop, 3), pooling="avg")(x)
    x = keras.layers.Dense(128, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed), name="dense")(x)
    return keras.Model(frame, x, name="resnet50_backbone")


def _visual_subnet(frames, *, visual, temporal, crop, vgg_filters, resnet_weights, brightness, seed):
    """uint8 frames (T, H, W, 3) -> augment per clip -> per-frame backbone -> pooled over time.

    The frames are stacked on the channel axis for the augmentation so that every frame of a
    clip gets the same crop, flip and brightness shift (training only; centre crop otherwise).
    """
    check_choice("visual", visual, VISUAL_BACKBONES)
    check_choice("temporal", temporal, TEMPORAL_POOLING)
    steps, height, width, channels = frames.shape[1:]
    if crop > min(height, width):
        raise InputError(f"crop={crop} does not fit frames of {height} x {width}")
    x = keras.layers.Rescaling(1 / 255, name="visual_scale")(frames)
    x = keras.layers.Permute((2, 3, 1, 4), name="visual_frames_last")(x)
    x = keras.layers.Reshape((height, width, steps * channels), name="visual_stack")(x)
    x = TrainRandomCrop(crop, crop, seed=seed + 1, name="visual_crop")(x)
    x = keras.layers.RandomFlip("horizontal", seed=seed + 2, name="visual_flip")(x)
    x = keras.layers.RandomBrightness(brightness, value_range=(0.0, 1.0), seed=seed + 3, name="visual_brightness")(x)
    x = keras.layers.Reshape((crop, crop, steps, channels), name="visual_unstack")(x)
    x = keras.layers.Permute((3, 1, 2, 4), name="visual_frames_first")(x)
    if visual == "vgg":
        backbone = _vgg_backbone(crop=crop, filters=vgg_filters, seed=seed + 10)
    else:
        backbone = _resnet50_backbone(crop=crop, weights=resnet_weights, seed=seed + 10)
    x = keras.layers.TimeDistributed(backbone, name="visual_backbone")(x)  # (T, 128)
    if temporal == "max":
        return keras.layers.GlobalMaxPooling1D(name="visual_pool")(x)
    init = keras.initializers.GlorotUniform(seed + 4)
    return keras.layers.GRU(128, kernel_initializer=init, recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 5), name="visual_pool")(x)


def fusion(
    *,
    mfcc_shape: tuple[int, int, int] = (24, 188, 1),
    frames_shape: tuple[int, int, int, int] = (6, 140, 248, 3),
    audio: str = "blstm",
    visual: str = "vgg",
    temporal: str = "max",
    crop: int = 128,
    vgg_filters: tuple[int, ...] = (16, 32, 64),
    resnet_weights: str | None = None,
    brightness: float = 0.2,
    dropout: float = 0.5,
    output_activation: str = "sigmoid",
    n_outputs: int = N_OUTPUTS,
    text_dim: int | None = None,
    seed: int = 0,
) -> keras.Model:
    """Audio-visual fusion (seed 002): MFCC subnet + frame-wise visual subnet -> outputs.

    Parameters
    ----------
    mfcc_shape : tuple of int
        Input ``mfcc`` [shape=(batch, 24, M, 1)], coefficients first. Standardised per
        coefficient by ``mfcc_standardize`` (identity until the training code adapts it).
    frames_shape : tuple of int
        Input ``frames`` uint8 [shape=(batch, T, H, W, 3)].
    audio : {"blstm", "conv1d_lstm", "conv2d"}
        The audio subnet; each ends in ``audio_dense`` (128, ReLU).
    visual : {"vgg", "resnet50"}
        Frame encoder inside ``visual_backbone`` (TimeDistributed), each ending in Dense(128).
    temporal : {"max", "gru"}
        How ``visual_pool`` pools the frame vectors over time.
    crop : int
        Side of the square crop (random in training, centre otherwise).
    resnet_weights : str or None
        A local ResNet50 weights file; None trains from scratch. Nothing is downloaded.
    text_dim : int or None
        With a value, a third input ``text`` (batch, text_dim), the clip's TF-IDF vector, through
        ``text_dense`` (64, ReLU) into the concatenation (the ``fusion_text`` model).

    Returns
    -------
    keras.Model
        ``fusion``: {"mfcc", "frames"[, "text"]} -> ``outputs`` (batch, n_outputs).
    """
    mfcc = keras.Input(mfcc_shape, name="mfcc")
    frames = keras.Input(frames_shape, dtype="uint8", name="frames")
    a = _audio_subnet(mfcc, audio=audio, dropout=dropout, seed=seed + 100)
    v = _visual_subnet(
        frames, visual=visual, temporal=temporal, crop=crop, vgg_filters=vgg_filters, resnet_weights=resnet_weights, brightness=brightness, seed=seed + 200
    )
    inputs = {"mfcc": mfcc, "frames": frames}
    branches = [a, v]
    if text_dim:
        inputs["text"] = keras.Input((text_dim,), name="text")
        t = keras.layers.Dropout(dropout, seed=seed + 300, name="text_dropout")(inputs["text"])
        branches.append(keras.layers.Dense(64, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed + 301), name="text_dense")(t))
    x = keras.layers.Concatenate(name="concat")(branches)
    x = keras.layers.Dense(256, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed + 1), name="fusion_dense")(x)
    x = keras.layers.Dropout(dropout, seed=seed + 2, name="fusion_dropout")(x)
    outputs = output_units(x, n_outputs=n_outputs, output_activation=output_activation, seed=seed + 3)
    return keras.Model(inputs, outputs, name="fusion")
