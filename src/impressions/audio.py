"""The audio stages of a shard: decoding clips to wav, and the audio feature cache."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from impressions import features
from impressions.atomic import atomic_path
from impressions.cache import write_cache
from impressions.media import decode_wav, read_wav


def decode_shard(
    clips: dict[str, str],
    folder: str | os.PathLike,
    *,
    sample_rate: int = 16000,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> None:
    """Decode each clip (clip id -> mp4 path) to ``<folder>/<clip id>.wav``, several at a time.

    The folder appears only once every clip is decoded.
    """
    with atomic_path(folder) as tmp:
        tmp.mkdir()

        def decode(item: tuple[int, tuple[str, str]]) -> None:
            number, (clip_id, path) = item
            decode_wav(path, tmp / f"{clip_id}.wav", sample_rate=sample_rate)
            log(f"[{number}/{len(clips)}] {clip_id}.wav")

        with ThreadPoolExecutor(max(1, threads)) as pool:
            list(pool.map(decode, enumerate(clips.items(), start=1)))


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
