"""Reading features back from the shard caches, and turning MFCCs into seed 002's model input.

The caches hold each representation as computed per clip; what depends on the split (such as
the MFCC length, taken from the training split only) is decided at loading time. Training
streams its inputs through `impressions.streams`, which uses these functions.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from impressions.cache import CacheReader


def read_feature(manifest: pd.DataFrame, caches: dict[str, str | os.PathLike], name: str) -> dict[str, np.ndarray]:
    """Every manifest clip's array of feature `name`, from the cache of its shard.

    Parameters
    ----------
    manifest : the usable clips, with ``clip_id`` and ``shard``
    caches : shard -> path of that shard's cache file

    Returns
    -------
    dict: clip id -> array
    """
    arrays = {}
    for shard, rows in manifest.groupby("shard"):
        with CacheReader(caches[shard]) as cache:
            for clip_id in rows["clip_id"]:
                arrays[clip_id] = cache.get(name, clip_id)
    return arrays


def mfcc_length(manifest: pd.DataFrame, mfcc_caches: dict[str, str | os.PathLike]) -> int:
    """The MFCC sequence length of seed 002: the mean frame count of the training split's clips."""
    train = manifest[manifest["split"] == "train"]
    if train.empty:
        raise ValueError("the MFCC length comes from the training split, which has no clips")
    counts = [len(m) for m in read_feature(train, mfcc_caches, "mfcc").values()]
    return int(round(float(np.mean(counts))))


def mfcc_tensor(mfcc: np.ndarray, *, length: int) -> np.ndarray:
    """Seed 002's MFCC input: standardised per sample, pre-padded with zeros, (n_mfcc, length, 1).

    The clip's coefficients are scaled to zero mean and unit variance over all its values, then
    zeros are put before them up to `length` frames; a longer clip keeps its last `length`
    frames (Keras ``pad_sequences`` defaults, which the seed used).

    Parameters
    ----------
    mfcc : np.ndarray [shape=(frames, n_mfcc)], from the MFCC cache (time-major)
    length : frames of the result

    Returns
    -------
    np.ndarray [shape=(n_mfcc, length, 1), dtype=float32]
    """
    standard = (mfcc - mfcc.mean()) / (mfcc.std() + 1e-8)
    kept = standard[-length:]
    out = np.zeros((length, mfcc.shape[1]), dtype=np.float32)
    out[length - len(kept):] = kept
    return out.T[..., np.newaxis]


def mean_mfcc(mfcc: np.ndarray) -> np.ndarray:
    """Seed 002's mean-MFCC option: each coefficient averaged over time, (n_mfcc, 1)."""
    return mfcc.mean(axis=0, dtype=np.float64).astype(np.float32)[:, np.newaxis]
