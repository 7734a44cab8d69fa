"""Audio, video and text of a clip on one clock: the computations of the aligned cache.

A clip's time axis is cut into steps of `step_s` seconds from its start (step k covers
[k step, (k + 1) step)); every modality is placed on that axis by time, never by count, so a
clip at 10 fps and one at 30 fps land on the same steps. Clips are padded (or cut) to
`max_steps`, with a mask that is 1 for the steps that start inside the clip.

Text has no times in MELD. Its tokens are spread over the clip's voiced stretches (an energy
voice activity detector, `librosa.effects.split`) in proportion to each word's length in
characters: the time a speaker would take to say them at an even pace.
"""

from __future__ import annotations

import math

import librosa
import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from impressions.features import transforms
from impressions.features.spoken_words import SPOKEN_WORD

PLACEMENTS = ("none", "voice_activity", "even")
"""How a clip's tokens were placed in time, by the code the cache stores: no tokens; spread over
the voiced stretches; spread over the whole clip (no stretch was voiced)."""


def n_steps(duration_s: float, step_s: float) -> int:
    """Steps that start inside a clip of `duration_s` seconds (at least one)."""
    return max(1, math.ceil(round(duration_s / step_s, 9)))


def step_mask(duration_s: float, step_s: float, max_steps: int) -> np.ndarray:
    """(max_steps,) uint8: 1 for the steps that start inside the clip, 0 for the padding after its end."""
    return (np.arange(max_steps) < n_steps(duration_s, step_s)).astype(np.uint8)


def step_centres(step_s: float, max_steps: int) -> np.ndarray:
    """(max_steps,) float64: the centre of each step, in seconds from the clip's start."""
    return (np.arange(max_steps) + 0.5) * step_s


def pooled_log_mel(waveform: np.ndarray, *, step_s: float, max_steps: int, sample_rate: int = 16000) -> np.ndarray:
    """(max_steps, 64) float32: the VGGish log-mel frames whose centre falls in each step, averaged.

    A frame of the VGGish front end (25 ms every 10 ms) is centred 12.5 ms after its start. A step
    without a frame (past the clip's end, or a clip shorter than one frame) holds the log-mel
    floor, log(0.01), the value of silence.
    """
    log_mel = transforms.vggish_log_mel(waveform, sample_rate=sample_rate)
    front = transforms.VGGISH_FRONT_END
    centres = np.arange(len(log_mel)) * front["hop_s"] + front["window_s"] / 2
    step = np.floor(centres / step_s + 1e-9).astype(np.int64)
    pooled = np.full((max_steps, log_mel.shape[1]), transforms.LOG_MEL_FLOOR, dtype=np.float64)
    inside = step < max_steps
    sums = np.zeros_like(pooled)
    np.add.at(sums, step[inside], log_mel[inside])
    counts = np.bincount(step[inside], minlength=max_steps)
    filled = counts > 0
    pooled[filled] = sums[filled] / counts[filled, None]
    return pooled.astype(np.float32)


def voiced_stretches(waveform: np.ndarray, *, sample_rate: int = 16000, top_db: float = 30.0) -> np.ndarray:
    """(n, 2) float64: start and end in seconds of the stretches less than `top_db` below the clip's loudest frame."""
    if waveform.size == 0:
        return np.zeros((0, 2))
    intervals = librosa.effects.split(np.asarray(waveform, dtype=np.float32), top_db=top_db, frame_length=400, hop_length=160)
    return np.asarray(intervals, dtype=np.float64).reshape(-1, 2) / sample_rate


def place_words(tokens: list[str], stretches: np.ndarray, duration_s: float) -> tuple[np.ndarray, str]:
    """Times of the tokens (their centres, seconds) and the placement used (see `PLACEMENTS`).

    The voiced stretches are laid end to end into one voiced time line; the tokens share it in
    proportion to their lengths in characters, in order, and each token's centre is mapped back
    to clock time. Without a voiced stretch the whole clip is the time line ("even").
    """
    if not tokens:
        return np.zeros(0), "none"
    placement = "voice_activity" if len(stretches) else "even"
    if not len(stretches):
        stretches = np.array([[0.0, duration_s]])
    lengths = np.array([len(token) for token in tokens], dtype=np.float64)
    shares = (np.cumsum(lengths) - lengths / 2) / lengths.sum()
    spans = stretches[:, 1] - stretches[:, 0]
    voiced = shares * spans.sum()
    ends = np.cumsum(spans)
    which = np.minimum(np.searchsorted(ends, voiced, side="right"), len(spans) - 1)
    into = voiced - (ends[which] - spans[which])
    return stretches[which, 0] + into, placement


def hashed_words(tokens: list[str], *, n_features: int) -> np.ndarray:
    """(len(tokens), n_features) float32: each token as a hashed one-hot word vector (no vocabulary to fit)."""
    if not tokens:
        return np.zeros((0, n_features), dtype=np.float32)
    hasher = HashingVectorizer(n_features=n_features, alternate_sign=False, norm=None, token_pattern=SPOKEN_WORD.pattern, lowercase=True)
    return hasher.transform(tokens).toarray().astype(np.float32)


def text_steps(token_vectors: np.ndarray, token_times: np.ndarray, *, step_s: float, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens on the steps: ((max_steps, n_features) float32, the sum of each step's token vectors;
    (n_tokens,) int32, each token's step, or -1 for a token past the last step)."""
    steps = np.floor(np.asarray(token_times) / step_s + 1e-9).astype(np.int32)
    steps[(steps < 0) | (steps >= max_steps)] = -1
    placed = np.zeros((max_steps, token_vectors.shape[1]), dtype=np.float32)
    kept = steps >= 0
    np.add.at(placed, steps[kept], token_vectors[kept])
    return placed, steps
