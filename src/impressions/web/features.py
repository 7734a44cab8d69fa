"""One uploaded clip's features, computed with the shard stages' own per-clip functions.

The pipeline writes each family to a shard cache and the registry's instance functions read it
back with ``reader.get(name, clip_id)``; here each family is computed in memory for one clip
and handed to the same instance functions through `ClipArrays`, so the page's model inputs are
the pipeline's. The parameters come from the run's own caches (their ``params`` attribute), so
the page computes what the models were trained on even if config.yaml has changed since.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from impressions.data.media import sample_frames
from impressions.features import audio_stage
from impressions.features.vggish import Embedder

CLIP_ID = "upload"
"""The id the uploaded clip goes by (the instance functions look arrays up by clip id)."""

SERVED_FAMILIES = ("spectrogram", "rawwave", "mfcc", "frames", "vggish")
"""Cache families the web page can compute from an upload (text and eGeMAPS need more than a clip)."""


class ClipArrays:
    """One clip's arrays of one family, read the way `impressions.io.cache.CacheReader` is read."""

    def __init__(self, arrays: dict[str, np.ndarray], params: dict):
        self.arrays, self.params, self.failed = arrays, params, {}

    def __contains__(self, clip_id: str) -> bool:
        return clip_id == CLIP_ID

    def get(self, name: str, clip_id: str) -> np.ndarray:
        return self.arrays[name]


@dataclass(frozen=True)
class Clip:
    """What the families are computed from: the decoded 16 kHz mono waveform and the upload itself."""

    waveform: np.ndarray
    rate: int
    media: str | os.PathLike
    duration_s: float
    fps: float
    has_video: bool


def _spectrogram(clip: Clip, params: dict, embedder: Embedder | None) -> dict[str, np.ndarray]:
    examples = audio_stage.logmel_arrays(clip.waveform, clip.rate)["vggish_examples"]
    return audio_stage.spectrogram_arrays(examples, seconds=params["seconds"], pool=params["summary_pool"])


def _rawwave(clip: Clip, params: dict, embedder: Embedder | None) -> dict[str, np.ndarray]:
    keys = ("seconds", "sample_rate", "n_fft", "hop_length")
    return audio_stage.rawwave_arrays(clip.waveform, clip.rate, **{key: params[key] for key in keys})


def _mfcc(clip: Clip, params: dict, embedder: Embedder | None) -> dict[str, np.ndarray]:
    return audio_stage.mfcc_arrays(clip.waveform, clip.rate, n_mfcc=params["n_mfcc"], n_mels=params["n_mels"])


def _frames(clip: Clip, params: dict, embedder: Embedder | None) -> dict[str, np.ndarray]:
    if not clip.has_video:
        raise ValueError("this model needs video, and the clip has no video stream")
    count, height, width = params["per_clip"], params["height"], params["width"]
    return {"frames": sample_frames(clip.media, duration_s=clip.duration_s, count=count, height=height, width=width, fps=clip.fps)}


def _vggish(clip: Clip, params: dict, embedder: Embedder | None) -> dict[str, np.ndarray]:
    examples = audio_stage.logmel_arrays(clip.waveform, clip.rate)["vggish_examples"]
    (embeddings,) = embedder.embed([clip.waveform], [examples], batch_size=params["batch_size"])
    return {"embeddings": embeddings}


COMPUTE: dict[str, Callable[[Clip, dict, Embedder | None], dict[str, np.ndarray]]] = {
    "spectrogram": _spectrogram,
    "rawwave": _rawwave,
    "mfcc": _mfcc,
    "frames": _frames,
    "vggish": _vggish,
}
"""Family -> (clip, the family cache's params, the VGGish embedder) -> the clip's arrays."""


def family_readers(clip: Clip, params: dict[str, dict], embedder: Embedder | None, timed: Callable) -> dict[str, ClipArrays]:
    """Every family in `params` computed for the clip, each step timed by ``timed(name)``."""
    readers = {}
    for family, family_params in params.items():
        with timed(family):
            readers[family] = ClipArrays(COMPUTE[family](clip, family_params, embedder), family_params)
    return readers
