"""Which clips a dataset has, which shard each belongs to, and the tables that list them.

A shard is the unit of every per-clip job. A clip's shard is a hash of its id, so it never
depends on which other clips exist: adding clips reruns only the shards that receive them.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from impressions import LABELS

CLIP_NAME = re.compile(r"^[A-Za-z0-9_-]{11}\.\d{3}$")
"""The ChaLearn First Impressions clip id: an 11-character YouTube id and a 3-digit chunk."""

PROBE_COLUMNS = [
    "clip_id",
    "split",
    "shard",
    "path",
    "duration_s",
    "audio_duration_s",
    "has_audio",
    "has_video",
    "audio_rate",
    "audio_channels",
    "fps",
    "width",
    "height",
    "size_bytes",
    "reason",
]
MANIFEST_COLUMNS = [column for column in PROBE_COLUMNS if column not in ("has_video", "audio_channels", "reason")] + list(LABELS)
"""The manifest: what the probe found of each usable clip (less what only decides exclusion), then its labels."""
EXCLUDED_COLUMNS = ["clip_id", "split", "shard", "path", "reason"]


@dataclass(frozen=True)
class Clip:
    """One input clip: its id, split, and path."""

    clip_id: str
    split: str
    path: str


def shard_name(index: int) -> str:
    """The shard wildcard value for a shard index."""
    return f"{index:03d}"


def shard_of(clip_id: str, n_shards: int) -> str:
    """The shard a clip belongs to: a stable hash of its id, independent of every other clip."""
    digest = hashlib.sha1(clip_id.encode("utf-8")).digest()
    return shard_name(int.from_bytes(digest[:8], "big") % n_shards)


def discover(root: str | os.PathLike, splits: dict[str, dict]) -> list[Clip]:
    """List the mp4 clips of a dataset in the ChaLearn layout (one folder of mp4s per split).

    Parameters
    ----------
    root : folder of the dataset
    splits : split -> {"videos": folder relative to root, "annotations": file relative to root}
    """
    clips = []
    for split, where in splits.items():
        folder = Path(root) / where["videos"]
        for path in sorted(folder.glob("*.mp4")):
            clips.append(Clip(clip_id=path.name[: -len(".mp4")], split=split, path=str(path)))
    return clips


def clips_by_shard(clips: Iterable[Clip], n_shards: int) -> dict[str, list[Clip]]:
    """Group clips by shard; every shard appears, even an empty one, in clip-id order."""
    shards: dict[str, list[Clip]] = {shard_name(i): [] for i in range(n_shards)}
    for clip in clips:
        shards[shard_of(clip.clip_id, n_shards)].append(clip)
    return {shard: sorted(members, key=lambda c: (c.clip_id, c.split)) for shard, members in shards.items()}


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read manifest.tsv with clip ids and shards kept as strings."""
    return pd.read_csv(path, sep="\t", dtype={"clip_id": str, "shard": str, "split": str})


def usable_clips(probe_path: str | os.PathLike) -> list[str]:
    """The ids of a shard's clips that passed probing, in shard order."""
    probes = read_probe(probe_path)
    return list(probes.loc[probes["reason"] == "", "clip_id"])


def read_probe(path: str | os.PathLike) -> pd.DataFrame:
    """Read one shard's probe table; ``reason`` is empty for usable clips."""
    frame = pd.read_csv(path, sep="\t", dtype={"clip_id": str, "shard": str, "split": str, "reason": str})
    frame["reason"] = frame["reason"].fillna("")
    return frame
