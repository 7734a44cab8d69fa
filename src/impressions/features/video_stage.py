"""The video stage of a shard: evenly spaced frames of every clip, in one HDF5 cache."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import pandas as pd

from impressions.data.media import MediaError, sample_frames
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

    A clip without a video stream, or whose frames ffmpeg cannot decode, is recorded in the
    cache's ``failed`` (the video models leave it out) and the shard goes on.

    Parameters
    ----------
    clips : rows with ``clip_id``, ``path``, ``duration_s``, ``has_video`` and ``fps`` (a probe table)
    """
    rows = list(clips[["clip_id", "path", "duration_s", "has_video", "fps"]].itertuples(index=False))

    def sample(item) -> np.ndarray | str:
        number, (clip_id, path, duration_s, has_video, fps) = item
        try:
            if not has_video:
                raise MediaError("no video stream")
            frames = sample_frames(path, duration_s=duration_s, count=per_clip, height=height, width=width, fps=fps)
        except MediaError as error:
            log(f"[{number}/{len(rows)}] {clip_id}: no frames, {error}")
            return str(error) if not has_video else f"frames could not be decoded: {error}"
        log(f"[{number}/{len(rows)}] {clip_id}: {per_clip} frames")
        return frames

    with ThreadPoolExecutor(max(1, threads)) as pool:
        results = list(pool.map(sample, enumerate(rows, start=1)))
    done = [(row.clip_id, frames) for row, frames in zip(rows, results) if not isinstance(frames, str)]
    failed = {row.clip_id: reason for row, reason in zip(rows, results) if isinstance(reason, str)}
    params = {"per_clip": per_clip, "height": height, "width": width, "color": "RGB", "placement": "centres of equal slices"}
    write_cache(output, [clip_id for clip_id, _ in done], {"frames": [frames for _, frames in done]}, params, failed)
