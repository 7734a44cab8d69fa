"""The video stage of a shard: evenly spaced frames of every clip, in one HDF5 cache."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pandas as pd

from impressions.data.media import sample_frames
from impressions.io.cache import write_cache


def frame_cache(
    clips: pd.DataFrame,
    output: str | os.PathLike,
    *,
    per_clip: int = 6,
    height: int = 140,
    width: int = 248,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> None:
    """Write ``frames`` (clips * per_clip, height, width, 3) uint8 RGB for a shard's clips.

    Parameters
    ----------
    clips : rows with ``clip_id``, ``path`` and ``duration_s`` (a probe table)
    """
    rows = list(clips[["clip_id", "path", "duration_s"]].itertuples(index=False))

    def sample(item):
        number, (clip_id, path, duration_s) = item
        frames = sample_frames(path, duration_s=duration_s, count=per_clip, height=height, width=width)
        log(f"[{number}/{len(rows)}] {clip_id}: {per_clip} frames")
        return frames

    with ThreadPoolExecutor(max(1, threads)) as pool:
        frames = list(pool.map(sample, enumerate(rows, start=1)))
    params = {"per_clip": per_clip, "height": height, "width": width, "color": "RGB", "placement": "centres of equal slices"}
    write_cache(output, [r.clip_id for r in rows], {"frames": frames}, params)
