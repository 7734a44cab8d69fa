"""The audio caches of a shard, one HDF5 file per representation family.

Each family is its own rule and file, so that changing one family's parameters (say the number
of MFCCs) recomputes that family and what reads it, not the others.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

import librosa
import numpy as np
import pandas as pd

from impressions.features import transforms
from impressions.io.cache import CacheReader, read_feature, write_cache
from impressions.io.errors import InputError
from impressions.io.wav import read_wav


def wav_cache(
    clip_ids: list[str],
    wav_folder: str | os.PathLike,
    output: str | os.PathLike,
    compute: Callable[[np.ndarray, int], dict[str, np.ndarray]],
    params: dict,
    log: Callable[[str], None],
) -> None:
    """Run `compute(waveform, rate)` on every clip's wav and write its arrays to one cache.

    `compute` returns the same feature names for every clip; an empty shard still gets them
    (as empty datasets), found by running `compute` on a second of silence. A clip whose wav
    cannot be read or computed is recorded in the cache's ``failed`` and the shard goes on.
    Every family computed from the wav files writes its cache through it (eGeMAPS too, from
    `impressions.features.egemaps`).
    """
    names = compute(np.zeros(16000, np.float32), 16000).keys()
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in names}
    done, failed = [], {}
    for number, clip_id in enumerate(clip_ids, start=1):
        try:
            waveform, rate = read_wav(Path(wav_folder) / f"{clip_id}.wav")
            result = compute(waveform, rate)
        except (InputError, ValueError, librosa.util.exceptions.ParameterError) as error:
            failed[clip_id] = f"not computed: {error}"
            log(f"[{number}/{len(clip_ids)}] {clip_id}: FAILED, {failed[clip_id]}")
            continue
        for name, array in result.items():
            arrays[name].append(array)
        done.append(clip_id)
        shapes = ", ".join(f"{name} {array.shape}" for name, array in result.items())
        log(f"[{number}/{len(clip_ids)}] {clip_id}: {len(waveform) / rate:.2f} s -> {shapes}")
    write_cache(output, done, arrays, params, failed)


def logmel_arrays(waveform: np.ndarray, rate: int) -> dict[str, np.ndarray]:
    """One clip's log-mel cache entry: ``vggish_examples`` (N, 96, 64) float32, one per 0.96 s."""
    return {"vggish_examples": transforms.vggish_examples(waveform, sample_rate=rate)}


def mfcc_arrays(waveform: np.ndarray, rate: int, *, n_mfcc: int = 24, n_mels: int = 128) -> dict[str, np.ndarray]:
    """One clip's MFCC cache entry: ``mfcc`` (frames, n_mfcc) and ``log_mel_db`` (frames, n_mels)."""
    log_mel = transforms.log_mel_db(waveform, sample_rate=rate, n_mels=n_mels)
    return {"mfcc": transforms.mfcc(waveform, sample_rate=rate, n_mfcc=n_mfcc, log_mel=log_mel), "log_mel_db": log_mel}


def rawwave_arrays(waveform: np.ndarray, rate: int, *, seconds: float, sample_rate: int, n_fft: int, hop_length: int) -> dict[str, np.ndarray]:
    """One clip's raw-wave cache entry: ``rawwave_fft`` (frames, n_fft // 2 + 1) and ``n_real_frames`` (1,)."""
    values, n_real = transforms.rawwave_fft(waveform, sample_rate=rate, seconds=seconds, target_rate=sample_rate, n_fft=n_fft, hop_length=hop_length)
    return {"rawwave_fft": values, "n_real_frames": np.array([n_real], dtype=np.int32)}


def spectrogram_arrays(examples: np.ndarray, *, seconds: int, pool: int) -> dict[str, np.ndarray]:
    """One clip's spectrogram cache entry, from its `logmel_arrays`: ``clip_spectrogram``,
    ``summary_spectrogram`` and ``n_real_seconds`` (`spectrogram_cache`)."""
    patches, n_real = transforms.clip_spectrogram(examples, seconds=seconds)
    return {
        "clip_spectrogram": patches,
        "summary_spectrogram": transforms.summary_spectrogram(patches, pool=pool),
        "n_real_seconds": np.array([n_real], dtype=np.int32),
    }


def logmel_cache(clip_ids, wav_folder, output, *, log=print) -> None:
    """``vggish_examples`` (N, 96, 64) float32: the VGGish log-mel examples, one per 0.96 s."""
    wav_cache(clip_ids, wav_folder, output, logmel_arrays, {"vggish_front_end": transforms.VGGISH_FRONT_END}, log)


def mfcc_cache(clip_ids, wav_folder, output, *, n_mfcc: int = 24, n_mels: int = 128, log=print) -> None:
    """``mfcc`` (frames, n_mfcc) and ``log_mel_db`` (frames, n_mels), float32, librosa framing."""
    params = {"n_mfcc": n_mfcc, "n_mels": n_mels, "library": "librosa", "n_fft": 2048, "hop_length": 512}
    wav_cache(clip_ids, wav_folder, output, functools.partial(mfcc_arrays, n_mfcc=n_mfcc, n_mels=n_mels), params, log)


def rawwave_cache(clip_ids, wav_folder, output, *, seconds: float, sample_rate: int, n_fft: int, hop_length: int, log=print) -> None:
    """``rawwave_fft`` (frames, n_fft // 2 + 1) float32, fixed length, and ``n_real_frames`` (1,)."""
    compute = functools.partial(rawwave_arrays, seconds=seconds, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length)
    params = {
        **transforms.RAWWAVE,
        "sample_rate": sample_rate,
        "n_fft": n_fft,
        "hop_length": hop_length,
        "seconds": seconds,
        "normalisation": "per clip: zero mean, unit variance; padding zeros at the end",
    }
    wav_cache(clip_ids, wav_folder, output, compute, params, log)


def spectrogram_cache(logmel: str | os.PathLike, output: str | os.PathLike, *, seconds: int, pool: int, log=print) -> None:
    """Seed 001's spectrograms from the log-mel cache.

    ``clip_spectrogram`` (seconds, 96, 64), ``summary_spectrogram`` (seconds * 96 / pool, 64),
    both float32, and ``n_real_seconds`` (1,) int32: the patches that come from audio, the rest
    being silence padding.
    """
    with CacheReader(logmel) as cache:
        clip_ids, examples = cache.clip_ids, cache.all("vggish_examples")
    arrays: dict[str, list[np.ndarray]] = {"clip_spectrogram": [], "summary_spectrogram": [], "n_real_seconds": []}
    for clip_id, clip_examples in zip(clip_ids, examples):
        for name, array in spectrogram_arrays(clip_examples, seconds=seconds, pool=pool).items():
            arrays[name].append(array)
        n_real = int(arrays["n_real_seconds"][-1][0])
        if n_real < seconds:
            log(f"{clip_id}: {n_real} s of audio, padded to {seconds} s with silence")
    log(f"{len(clip_ids)} clips")
    params = {
        "seconds": seconds,
        "summary_pool": pool,
        "padding": f"log-mel silence {transforms.LOG_MEL_FLOOR:.4f}",
        "vggish_front_end": transforms.VGGISH_FRONT_END,
    }
    write_cache(output, clip_ids, arrays, params)


def mfcc_length(manifest: pd.DataFrame, mfcc_caches: dict[str, str | os.PathLike]) -> int:
    """The MFCC sequence length of seed 002: the mean frame count of the training split's clips."""
    train = manifest[manifest["split"] == "train"]
    if train.empty:
        raise ValueError("the MFCC length comes from the training split, which has no clips")
    counts = [len(m) for m in read_feature(train, mfcc_caches, "mfcc").values()]
    return int(round(float(np.mean(counts))))
