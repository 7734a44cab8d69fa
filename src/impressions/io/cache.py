"""Per-shard HDF5 caches: per-clip arrays stacked along their first axis, with an index.

Layout of a cache file::

    clip_id             (n,)          utf-8 strings, the clips in the order they are stacked
    <name>              (sum_i N_i, ...)  every clip's array for feature <name>, concatenated
    <name>_offsets      (n + 1,)      int64; clip i is <name>[offsets[i]:offsets[i + 1]]
    attrs["params"]     JSON of every parameter that produced the file
    attrs["version"]    impressions version
    attrs["failed"]     JSON {clip id: reason} of the clips that could not be computed (only when any)

Stacking (rather than one group per clip) keeps reads contiguous for training and makes the file
bytes depend only on the content: datasets are written without modification times.
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Sequence

import h5py
import numpy as np
import pandas as pd

from impressions import __version__
from impressions.io.atomic import atomic_path


def write_cache(
    path: str | os.PathLike,
    clip_ids: Sequence[str],
    features: Mapping[str, Sequence[np.ndarray]],
    params: Mapping[str, object],
    failed: Mapping[str, str] | None = None,
) -> None:
    """Write per-clip arrays for each feature into one HDF5 file, atomically.

    Parameters
    ----------
    clip_ids : the clips, in order
    features : feature name -> one array per clip (same trailing shape and dtype within a feature)
    params : everything that produced the arrays; stored as JSON in the root attributes
    failed : clip id -> why it has no arrays here (a clip that cannot be computed never fails the shard)
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=False) as h5:
        h5.create_dataset("clip_id", data=np.array(list(clip_ids), dtype=object), dtype=h5py.string_dtype(), track_times=False)
        for name, arrays in features.items():
            if len(arrays) != len(clip_ids):
                raise ValueError(f"feature {name!r} has {len(arrays)} arrays for {len(clip_ids)} clips")
            offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
            offsets[1:] = np.cumsum([len(a) for a in arrays])
            stacked = np.concatenate(arrays) if arrays else np.zeros((0,), dtype=np.float32)
            h5.create_dataset(name, data=stacked, track_times=False)
            h5.create_dataset(f"{name}_offsets", data=offsets, track_times=False)
        h5.attrs["params"] = json.dumps(params, sort_keys=True)
        h5.attrs["version"] = __version__
        if failed:
            h5.attrs["failed"] = json.dumps(dict(failed), sort_keys=True)


class CacheReader:
    """Read per-clip arrays back from a cache written by `write_cache`."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self._h5 = h5py.File(self.path, "r")
        self.clip_ids = [c.decode() if isinstance(c, bytes) else c for c in self._h5["clip_id"][()]]
        self._row = {clip: i for i, clip in enumerate(self.clip_ids)}
        self.params = json.loads(self._h5.attrs["params"])
        self.version = self._h5.attrs["version"]
        self.failed: dict[str, str] = json.loads(self._h5.attrs.get("failed", "{}"))

    def __enter__(self) -> "CacheReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._h5.close()

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self._row

    def get(self, name: str, clip_id: str) -> np.ndarray:
        """The array of feature `name` for one clip."""
        if clip_id not in self._row:
            raise KeyError(f"{self.path} holds no clip {clip_id!r}")
        offsets = self._h5[f"{name}_offsets"]
        row = self._row[clip_id]
        return self._h5[name][offsets[row] : offsets[row + 1]]

    def all(self, name: str) -> list[np.ndarray]:
        """Every clip's array of feature `name`, in clip order (one read of the whole dataset)."""
        data = self._h5[name][()]
        offsets = self._h5[f"{name}_offsets"][()]
        return [data[offsets[i] : offsets[i + 1]] for i in range(len(self.clip_ids))]


def read_feature(manifest: pd.DataFrame, caches: dict[str, str | os.PathLike], name: str) -> dict[str, np.ndarray]:
    """Every manifest clip's array of feature `name`, from the cache of its shard.

    A clip the cache could not compute (its ``failed``, listed in excluded.tsv) is left out.

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
                if clip_id in cache:
                    arrays[clip_id] = cache.get(name, clip_id)
    return arrays
