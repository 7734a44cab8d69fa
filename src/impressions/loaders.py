"""Model inputs read back from the shard caches, per split, in the shapes the models take.

The caches hold each representation as computed per clip; what depends on the split (such as
the MFCC length, taken from the training split only) is decided here, at loading time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from impressions import SPLITS, TRAITS
from impressions.cache import CacheReader


@dataclass
class SplitData:
    """One split's model inputs, targets (in TRAITS order) and clip ids."""

    x: np.ndarray
    y: np.ndarray
    clip_ids: list[str]


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


def by_split(manifest: pd.DataFrame, inputs: dict[str, np.ndarray], width: tuple[int, ...]) -> dict[str, SplitData]:
    """Stack per-clip model inputs into one SplitData per split (clips without an input are left out)."""
    data = {}
    for split in SPLITS:
        rows = manifest[(manifest["split"] == split) & manifest["clip_id"].isin(inputs)]
        x = np.stack([inputs[c] for c in rows["clip_id"]]) if len(rows) else np.zeros((0, *width), np.float32)
        data[split] = SplitData(x=x.astype(np.float32), y=rows[list(TRAITS)].to_numpy(np.float32), clip_ids=list(rows["clip_id"]))
    return data


def embedding_inputs(
    manifest: pd.DataFrame, embedding_caches: dict[str, str | os.PathLike], *, seconds: int = 5
) -> tuple[dict[str, SplitData], pd.DataFrame]:
    """The vggish_head input (seed 000): the first `seconds` VGGish embeddings, flattened.

    Returns
    -------
    data : split -> SplitData with x of shape (clips, seconds * 128)
    excluded : clips with fewer than `seconds` embeddings (clip_id, split, reason)
    """
    inputs, excluded = {}, []
    splits = manifest.set_index("clip_id")["split"]
    for clip_id, embeddings in read_feature(manifest, embedding_caches, "embeddings").items():
        if len(embeddings) < seconds:
            excluded.append((clip_id, splits[clip_id], f"only {len(embeddings)} s of embeddings, {seconds} needed"))
        else:
            inputs[clip_id] = embeddings[:seconds].reshape(-1)
    return by_split(manifest, inputs, (seconds * 128,)), pd.DataFrame(excluded, columns=["clip_id", "split", "reason"])


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


def mfcc_inputs(
    manifest: pd.DataFrame, mfcc_caches: dict[str, str | os.PathLike], *, kind: str = "mfcc", length: int | None = None
) -> dict[str, SplitData]:
    """MFCC model inputs per split: ``kind`` "mfcc" (n_mfcc, length, 1), "mean_mfcc" (n_mfcc, 1),
    or "log_mel_db" (n_mels, length, 1) prepared like the MFCCs.

    `length` defaults to `mfcc_length` (the training split's mean frame count).
    """
    if kind not in ("mfcc", "mean_mfcc", "log_mel_db"):
        raise ValueError(f"unknown MFCC input kind {kind!r}; choose mfcc, mean_mfcc or log_mel_db")
    length = length or mfcc_length(manifest, mfcc_caches)
    arrays = read_feature(manifest, mfcc_caches, "mfcc" if kind != "log_mel_db" else "log_mel_db")
    if kind == "mean_mfcc":
        inputs = {c: mean_mfcc(a) for c, a in arrays.items()}
    else:
        inputs = {c: mfcc_tensor(a, length=length) for c, a in arrays.items()}
    width = next(iter(inputs.values())).shape if inputs else (0,)
    return by_split(manifest, inputs, width)
