"""eGeMAPS: the field's standard acoustic features, 88 functionals per clip, by openSMILE.

The extended Geneva Minimalistic Acoustic Parameter Set, v02 (Eyben et al. 2016, IEEE Trans.
Affective Computing 7(2)): pitch, jitter, shimmer, loudness, harmonics-to-noise ratio, formants,
spectral slope and balance, MFCCs 1-4, each summarised over the whole clip (means, coefficients
of variation, percentiles, slopes), with rates of voiced segments. It is the baseline that
computational paralinguistics reports first. audEERING's `opensmile` package runs the
openSMILE binary and configs it ships in its wheel, so nothing is downloaded or built.

Its own module rather than part of `audio_stage`: the other audio rules do not import
openSMILE, and editing this file reruns the egemaps rule only. In a process that also uses
TensorFlow (a notebook, pytest), import this module or `opensmile` first: openSMILE 2.6's native
library, loaded after TensorFlow's, crashes the process (segmentation fault).
"""

from __future__ import annotations

import functools
import os
from typing import Callable

import numpy as np
import opensmile

from impressions.features.audio_stage import wav_cache

EGEMAPS = {"feature_set": "eGeMAPSv02", "feature_level": "functionals", "library": f"opensmile {opensmile.__version__}"}
"""What produced the features, written into the cache's params (with the feature names)."""


@functools.cache
def _smile() -> opensmile.Smile:
    """The eGeMAPS v02 functionals extractor (one per process: it parses its configs once)."""
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)


def feature_names() -> list[str]:
    """The 88 eGeMAPS functionals in column order, e.g. ``F0semitoneFrom27.5Hz_sma3nz_amean``."""
    return list(_smile().feature_names)


def functionals(waveform: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
    """The eGeMAPS v02 functionals of one clip.

    openSMILE reads 16-bit samples: the waveform is scaled by 32768 and cast to int16, so a
    sample of exactly 1.0 is clipped to the largest int16 value here rather than wrapping.

    Parameters
    ----------
    waveform : np.ndarray [shape=(samples,)]
        Mono audio, floating point, in [-1, 1].
    sample_rate : int
        Sampling rate of `waveform` in Hz.

    Returns
    -------
    np.ndarray [shape=(1, 88), dtype=float32], columns in `feature_names` order

    Raises
    ------
    ValueError
        If `waveform` is not a finite 1-D floating-point array in [-1, 1], or openSMILE gives
        non-finite values (audio shorter than its analysis windows, about 60 ms).

    Examples
    --------
    >>> functionals(np.zeros(16000, dtype=np.float32)).shape
    (1, 88)
    """
    y = np.asarray(waveform)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"waveform must be mono floating point, shape (samples,), got shape {y.shape} and dtype {y.dtype}")
    if not np.all(np.isfinite(y)) or (y.size and np.abs(y).max() > 1):
        raise ValueError("waveform must be finite and in [-1, 1]")
    y = np.clip(y.astype(np.float32), -1.0, 32767 / 32768)
    values = _smile().process_signal(y, int(sample_rate)).to_numpy(np.float32)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"openSMILE gave {np.count_nonzero(~np.isfinite(values))} non-finite functionals of {y.size / sample_rate:.3f} s of audio (too short)")
    return values


def egemaps_cache(clip_ids: list[str], wav_folder: str | os.PathLike, output: str | os.PathLike, *, log: Callable[[str], None] = print) -> None:
    """``functionals`` (1, 88) float32 per clip; the cache's params name the 88 columns (``feature_names``)."""

    def compute(waveform, rate):
        return {"functionals": functionals(waveform, sample_rate=rate)}

    wav_cache(clip_ids, wav_folder, output, compute, {**EGEMAPS, "feature_names": feature_names()}, log)
