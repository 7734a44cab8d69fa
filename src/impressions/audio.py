"""The audio feature cache of a shard: VGGish log-mel examples and MFCCs of every clip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from impressions import features
from impressions.cache import write_cache
from impressions.media import read_wav


def feature_cache(
    clip_ids: list[str],
    wav_folder: str | os.PathLike,
    output: str | os.PathLike,
    *,
    sample_rate: int = 16000,
    n_mfcc: int = 24,
    log: Callable[[str], None] = print,
) -> None:
    """Compute the audio features of a shard's clips and write them to one HDF5 cache.

    Features (time-major, float32):
    ``vggish_examples`` (examples, 96, 64): VGGish log-mel examples, one per 0.96 s;
    ``mfcc`` (frames, n_mfcc): MFCCs (librosa defaults otherwise).
    """
    examples, mfccs = [], []
    for number, clip_id in enumerate(clip_ids, start=1):
        waveform, rate = read_wav(Path(wav_folder) / f"{clip_id}.wav")
        if rate != sample_rate:
            raise ValueError(f"{clip_id}.wav has {rate} Hz, expected {sample_rate} Hz")
        examples.append(features.vggish_examples(waveform, sample_rate=rate))
        mfccs.append(features.mfcc(waveform, sample_rate=rate, n_mfcc=n_mfcc))
        log(f"[{number}/{len(clip_ids)}] {clip_id}: {len(waveform) / rate:.2f} s, {len(examples[-1])} examples, {len(mfccs[-1])} MFCC frames")
    params = {"sample_rate": sample_rate, "n_mfcc": n_mfcc, "vggish_front_end": features.VGGISH_FRONT_END, "layout": "time-major"}
    write_cache(output, clip_ids, {"vggish_examples": examples, "mfcc": mfccs}, params)
