"""The aligned stage of a shard: every clip's audio, video and text on one time axis, in one HDF5 cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from impressions.data.media import frames_by_time
from impressions.features import aligned
from impressions.features.spoken_words import spoken_words
from impressions.io.cache import write_cache
from impressions.io.errors import InputError
from impressions.io.wav import read_wav


def aligned_cache(
    clips: pd.DataFrame,
    wav_folder: str | os.PathLike,
    output: str | os.PathLike,
    *,
    step_s: float = 0.24,
    max_seconds: float = 16.0,
    height: int = 36,
    width: int = 64,
    text_features: int = 256,
    vad_top_db: float = 30.0,
    video: bool = True,
    text: bool = False,
    log: Callable[[str], None] = print,
) -> None:
    """Write a shard's aligned sequences (see the README's aligned cache table for every array).

    A clip whose wav cannot be read, or whose frames cannot be decoded, is recorded in the
    cache's ``failed`` (the sequence models leave it out) and the shard goes on.

    Parameters
    ----------
    clips : the shard's decoded clips: ``clip_id``, ``path``, ``duration_s``, and ``text`` when `text`
    video : whether the dataset has video (``video`` is left out of an audio-only cache)
    text : whether the dataset has utterance text (the token arrays are left out otherwise)
    """
    max_steps = aligned.n_steps(max_seconds, step_s)
    centres = aligned.step_centres(step_s, max_steps)
    names = ["audio", "mask", *(["video"] if video else []), *(["text", "tokens", "token_times", "token_steps", "placement"] if text else [])]
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in names}
    done, failed = [], {}
    rows = list(clips.itertuples(index=False))
    for number, row in enumerate(rows, start=1):
        try:
            waveform, rate = read_wav(Path(wav_folder) / f"{row.clip_id}.wav")
            result = {"audio": aligned.pooled_log_mel(waveform, step_s=step_s, max_steps=max_steps, sample_rate=rate)}
            result["mask"] = aligned.step_mask(row.duration_s, step_s, max_steps)
            if video:
                result["video"] = frames_by_time(row.path, centres, height=height, width=width)
            if text:
                result.update(_text_arrays(row.text, waveform, rate, row.duration_s, step_s, max_steps, text_features, vad_top_db))
        except (InputError, ValueError) as error:
            failed[row.clip_id] = f"not aligned: {error}"
            log(f"[{number}/{len(rows)}] {row.clip_id}: FAILED, {failed[row.clip_id]}")
            continue
        for name, array in result.items():
            arrays[name].append(array)
        done.append(row.clip_id)
        said = f", {len(result['tokens'])} tokens by {aligned.PLACEMENTS[int(result['placement'][0])]}" if text else ""
        log(f"[{number}/{len(rows)}] {row.clip_id}: {int(result['mask'].sum())} of {max_steps} steps{said}")
    if len(rows) > len(failed) and (cut := int((clips["duration_s"] > max_steps * step_s).sum())):
        log(f"{cut} clips are longer than {max_steps * step_s:.2f} s ({max_steps} steps): their steps past it are cut (aligned.max_seconds)")
    params = {
        "step_s": step_s,
        "max_steps": max_steps,
        "audio": "VGGish log-mel (64 bands, 10 ms frames), the frames centred in each step averaged",
        "video": {"height": height, "width": width, "placement": "the frame nearest each step's centre, by presentation time"} if video else None,
        "text": {
            "features": text_features,
            "hashing": "sklearn HashingVectorizer, no sign, no norm",
            "vad_top_db": vad_top_db,
            "placements": list(aligned.PLACEMENTS),
        }
        if text
        else None,
    }
    write_cache(output, done, arrays, params, failed)


def _text_arrays(text, waveform, rate, duration_s, step_s, max_steps, n_features, top_db) -> dict[str, np.ndarray]:
    """The token arrays of one clip: tokens placed on its voiced stretches, then on the steps."""
    tokens = spoken_words("" if pd.isna(text) else str(text))
    times, placement = aligned.place_words(tokens, aligned.voiced_stretches(waveform, sample_rate=rate, top_db=top_db), duration_s)
    vectors = aligned.hashed_words(tokens, n_features=n_features)
    per_step, steps = aligned.text_steps(vectors, times, step_s=step_s, max_steps=max_steps)
    return {
        "text": per_step,
        "tokens": vectors,
        "token_times": times.astype(np.float32),
        "token_steps": steps,
        "placement": np.array([aligned.PLACEMENTS.index(placement)], dtype=np.int8),
    }
