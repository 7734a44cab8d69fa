"""Class activation maps (CAMs) of the CAM models: where in the input a trait's score came from.

A CAM model ends in ``conv{N}`` -> global average pooling ``gap`` -> linear Dense ``outputs``
(a score per trait, or a logit per class). For output t, CAM_t = sum_k w[k, t] F_k over the feature maps F of the last conv block and the output
weights w. Because the pooling is a mean and the output is linear, the mean of CAM_t over its
positions plus the output bias b_t is exactly the model's output for trait t (the CAM identity):
`identity_error` checks it for every map we write. The maps are in the model's output units
(standardised scores for a model trained on standardised targets); upsampled to the input's
size they can be laid over the spectrogram, or over time for the 1-D raw-wave model.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from impressions.features.transforms import vggish_band_edges
from impressions.io.errors import InputError
from impressions.models.entry import CamSpec
from impressions.models.metrics import pred_column, prob_column, true_column
from impressions.models.task import FIRST_IMPRESSIONS, Task


@dataclass(frozen=True)
class CamView:
    """How one CAM model's instances and maps become a clip's picture.

    Attributes
    ----------
    frame_s : seconds per frame along the displayed time axis
    spectrogram : True for (time, mel band) inputs, False for the 1-D raw-wave model (time only)
    """

    frame_s: float
    spectrogram: bool


def view(cam: CamSpec, params: dict) -> CamView:
    """A CAM model's view (its registry entry's `cam`), timed by the ``params`` of the cache it reads."""
    return CamView(frame_s=cam.frame_s(params), spectrogram=cam.spectrogram)


def feature_model(model: keras.Model) -> keras.Model:
    """The model with two outputs: the last conv block's maps (what ``gap`` pools) and the traits."""
    return keras.Model(model.inputs, [model.get_layer("gap").input, model.output], name=f"{model.name}_cam")


def output_weights(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """The ``outputs`` layer's kernel (K, outputs) and bias (outputs,), refused unless it is linear."""
    layer = model.get_layer("outputs")
    if layer.activation is not keras.activations.linear:
        raise InputError(
            f"{model.name}: class activation maps need a linear output layer, found {layer.activation.__name__}; "
            f"set models.{model.name}.output_activation: linear"
        )
    kernel, bias = layer.get_weights()
    return kernel.astype(np.float64), bias.astype(np.float64)


def activation_maps(features: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """CAM_t = sum_k w[k, t] F_k: (..., K) feature maps -> (..., traits) maps, same positions."""
    return np.tensordot(features.astype(np.float64), kernel, axes=([-1], [0]))


def identity_error(maps: np.ndarray, bias: np.ndarray, outputs: np.ndarray) -> float:
    """Largest |mean over positions of CAM_t + b_t - output_t| over a batch of instances.

    Parameters
    ----------
    maps : np.ndarray [shape=(batch, *positions, traits)], un-upsampled
    outputs : np.ndarray [shape=(batch, traits)], the model's outputs for the same instances
    """
    spatial = tuple(range(1, maps.ndim - 1))
    return float(np.max(np.abs(maps.mean(axis=spatial) + bias - outputs)))


def upsample(maps: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resize (batch, *positions, traits) maps to the input's `size`: bilinear in 2-D, linear in 1-D.

    Uses half-pixel centres (TensorFlow's default), so a map cell covers the input cells it
    was computed from rather than being shifted towards the origin.
    """
    if maps.ndim == 3:  # 1-D: a (positions, 1) image resized along its first axis only
        return upsample(maps[:, :, np.newaxis, :], (size[0], 1))[:, :, 0, :]
    return tf.image.resize(maps, size, method="bilinear").numpy().astype(np.float64)


@dataclass
class ClipCam:
    """One clip's maps for every trait."""

    display: np.ndarray  # the input laid out in time: (time, bands) log-mel, or (time, bins) raw-wave FFT
    maps: np.ndarray  # (time, bands, traits) or (time, traits), upsampled, model output units
    small: np.ndarray  # the maps at the conv block's resolution, instances stacked
    outputs: np.ndarray  # (traits,) the model's output for the clip (mean over its instances)
    identity_error: float


def clip_cam(cam_model: keras.Model, kernel: np.ndarray, bias: np.ndarray, instances: list[np.ndarray], view: CamView) -> ClipCam:
    """Every trait's map for one clip, from its instances (patches, or one whole input).

    A per-second model's clip map is its patches' maps, each upsampled to the patch, laid
    along time; its output is the mean of the patch outputs, as in training and evaluation.
    """
    batch = np.stack(instances)
    features, outputs = (np.asarray(a, dtype=np.float64) for a in cam_model([batch], training=False))
    small = activation_maps(features, kernel)
    maps = upsample(small, batch.shape[1:3] if view.spectrogram else batch.shape[1:2])
    display = batch.reshape(-1, batch.shape[-1]) if view.spectrogram else batch[0]
    return ClipCam(display, maps.reshape(-1, *maps.shape[2:]), small, outputs.mean(axis=0), identity_error(small, bias, outputs))


def top_clips(predictions: pd.DataFrame, output: str, k: int, task: Task = FIRST_IMPRESSIONS) -> pd.DataFrame:
    """The `k` distinct clips with the highest predicted `output`, best first (ties by clip id):
    a trait's score, or a class's probability (then ``label`` is the clip's true class)."""
    if predictions["clip_id"].duplicated().any():
        raise ValueError("a clip appears twice in the predictions; top clips must be distinct")
    predicted, label = (prob_column(output), true_column(task.target)) if task.classification else (pred_column(output), true_column(output))
    ranked = predictions.sort_values([predicted, "clip_id"], ascending=[False, True], kind="stable")
    return ranked.head(k).rename(columns={predicted: "prediction", label: "label"})[["clip_id", "split", "prediction", "label"]]


def normalise(cam: np.ndarray) -> np.ndarray:
    """Min-max scale one clip's map of one trait to [0, 1] (all zeros if the map is flat)."""
    low, high = float(cam.min()), float(cam.max())
    return np.zeros_like(cam) if high == low else (cam - low) / (high - low)


def profiles(normalised: list[np.ndarray]) -> dict[str, np.ndarray]:
    """A trait's CAM averaged over its top clips, as profiles over time and (spectrograms) bands.

    Clips may differ in length (the per-second model keeps only real seconds), so the mean map
    is taken over the clips present at each time.

    Returns
    -------
    dict: ``mean_map`` (time[, bands]), ``time_profile`` (time,) and, for spectrograms,
    ``band_profile`` (bands,): the mean map averaged over bands and over time.
    """
    length = max(len(m) for m in normalised)
    stacked = np.full((len(normalised), length, *normalised[0].shape[1:]), np.nan)
    for i, m in enumerate(normalised):
        stacked[i, : len(m)] = m
    mean_map = np.nanmean(stacked, axis=0)
    result = {"mean_map": mean_map, "time_profile": mean_map.reshape(length, -1).mean(axis=1)}
    if mean_map.ndim == 2:
        result["band_profile"] = mean_map.mean(axis=0)
    return result


def band_centres_hz() -> np.ndarray:
    """Centre frequency of each VGGish mel band (the spectrogram's second axis), in Hz."""
    return vggish_band_edges()[1:-1]


def localisation(profile: dict[str, np.ndarray], frame_s: float, band: dict | None) -> dict[str, float | bool]:
    """Where a trait's mean CAM peaks and, given a known cue, how much of it falls on the cue.

    Parameters
    ----------
    profile : from `profiles`
    band : ``low_hz``, ``high_hz``, ``start_s``, ``end_s`` (ground_truth.json's hidden band), or None

    Returns
    -------
    dict: ``peak_time_s`` and, for spectrograms, ``peak_band_hz`` (the profiles' maxima). With a
    band: ``time_mass`` (share of the time profile's mass inside [start_s, end_s)) against
    ``time_share`` (that interval's share of the time axis); for spectrograms also ``band_mass``
    against ``band_share`` (mel bands whose centre lies in [low_hz, high_hz]), ``box_mass``
    against ``box_share`` (the band during the interval) and ``peak_in_band``.
    """
    times = (np.arange(len(profile["time_profile"])) + 0.5) * frame_s
    result = {"peak_time_s": float(times[np.argmax(profile["time_profile"])])}
    spectrogram = "band_profile" in profile
    if spectrogram:
        centres = band_centres_hz()
        peak = int(np.argmax(profile["band_profile"]))
        result["peak_band_hz"] = float(centres[peak])
    if band is None:
        return result
    in_time = (times >= band["start_s"]) & (times < band["end_s"])
    result |= {"time_mass": _share(profile["time_profile"], in_time), "time_share": float(in_time.mean())}
    if spectrogram:
        in_band = (centres >= band["low_hz"]) & (centres <= band["high_hz"])
        box = np.outer(in_time, in_band)
        result |= {
            "band_mass": _share(profile["band_profile"], in_band),
            "band_share": float(in_band.mean()),
            "box_mass": _share(profile["mean_map"], box),
            "box_share": float(box.mean()),
            "peak_in_band": bool(in_band[peak]),
            "cue_peak_band_hz": float(centres[np.argmax(profile["mean_map"][in_time].mean(axis=0))]),
        }
    return result


def _share(values: np.ndarray, mask: np.ndarray) -> float:
    total = float(values.sum())
    return float(values[mask].sum() / total) if total > 0 else float("nan")
