"""Reading the pipeline's own wav files (the wav stage writes them, every audio stage reads them)."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from impressions.io.errors import InputError


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a mono wav as float32 in [-1, 1] with its sample rate."""
    try:
        waveform, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except sf.LibsndfileError as error:
        raise InputError(f"{path}: not a readable wav ({error.error_string})") from None
    if waveform.ndim != 1:
        raise InputError(f"{path}: expected mono audio, found {waveform.shape[1]} channels")
    return waveform, rate
