"""Colour and motion functionals of a clip's frames: for video what eGeMAPS is for the voice.

Low-level descriptors per frame (the dominant hue of the coloured pixels, saturation, brightness,
contrast and the mean of each colour channel) and the motion energy between consecutive frames
(the mean absolute change of luma), each summarised over the clip by its mean and standard
deviation. They are computed from the ``frames`` cache (frames taken at the centres of equal
slices of the clip), so they cost no decoding of their own, and they feed linear models the way
eGeMAPS does for audio: a small, fixed set of interpretable numbers a few dozen clips can fit.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import rgb_to_hsv

FRAME_DESCRIPTORS = ("hue_cos", "hue_sin", "saturation", "brightness", "contrast", "red", "green", "blue")
"""Per frame, in [0, 1] (the hue: a point in the unit disc): the saturation-weighted mean of the
pixels' hue angles as cosine and sine (a circular mean, so that red at 359 and 1 degrees agree;
its length shrinks when the coloured pixels disagree), the mean saturation, the mean brightness
(HSV value), the contrast (standard deviation of the value), and the mean red, green and blue."""

MOTION = "motion"
"""Mean absolute difference of luma (ITU-R BT.601) between consecutive frames, in [0, 1]."""

STATISTICS = ("mean", "sd")
NAMES = tuple(f"{descriptor}_{statistic}" for descriptor in (*FRAME_DESCRIPTORS, MOTION) for statistic in STATISTICS)
"""The functionals, in the order `frame_functionals` returns them: ``hue_cos_mean``, ``hue_cos_sd``, ..."""

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def frame_descriptors(frames: np.ndarray) -> np.ndarray:
    """The low-level descriptors of each frame.

    Parameters
    ----------
    frames : np.ndarray [shape=(T, height, width, 3), dtype=uint8]
        RGB frames, as the ``frames`` cache holds them.

    Returns
    -------
    np.ndarray [shape=(T, len(FRAME_DESCRIPTORS)), dtype=float32], columns as `FRAME_DESCRIPTORS`
    """
    rgb = frames.astype(np.float32) / 255.0
    hsv = rgb_to_hsv(rgb)
    angle, saturation, value = 2 * np.pi * hsv[..., 0], hsv[..., 1], hsv[..., 2]
    weight = saturation.sum(axis=(1, 2))
    weight = np.where(weight > 0, weight, 1.0)  # a gray frame has no hue: (0, 0)
    hue_cos = (saturation * np.cos(angle)).sum(axis=(1, 2)) / weight
    hue_sin = (saturation * np.sin(angle)).sum(axis=(1, 2)) / weight
    channels = rgb.mean(axis=(1, 2))
    columns = [hue_cos, hue_sin, saturation.mean(axis=(1, 2)), value.mean(axis=(1, 2)), value.std(axis=(1, 2)), *channels.T]
    return np.stack(columns, axis=1).astype(np.float32)


def motion_energy(frames: np.ndarray) -> np.ndarray:
    """Mean absolute luma difference of each pair of consecutive frames.

    Returns
    -------
    np.ndarray [shape=(T - 1,), dtype=float32]; empty for a single frame
    """
    luma = (frames.astype(np.float32) / 255.0) @ _LUMA
    return np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2)).astype(np.float32)


def frame_functionals(frames: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over the clip of every frame descriptor and of the motion energy.

    A clip of a single frame has no motion: its two motion functionals are 0.

    Parameters
    ----------
    frames : np.ndarray [shape=(T, height, width, 3), dtype=uint8], T >= 1

    Returns
    -------
    np.ndarray [shape=(len(NAMES),), dtype=float32], in the order of `NAMES`
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be (T >= 1, height, width, 3) RGB, not an array of shape {frames.shape}")
    descriptors = frame_descriptors(frames)
    motion = motion_energy(frames)
    motion = motion if len(motion) else np.zeros(1, np.float32)
    values = [(column.mean(), column.std()) for column in (*descriptors.T, motion)]
    return np.array(values, dtype=np.float32).reshape(-1)


def frame_steps(frames: np.ndarray) -> np.ndarray:
    """(T, 9) float32: each frame's descriptors and its motion from the frame before (0 for the first)."""
    motion = np.concatenate([[0.0], motion_energy(frames)]) if len(frames) else np.zeros(0)
    return np.concatenate([frame_descriptors(frames), motion[:, None]], axis=1).astype(np.float32)
