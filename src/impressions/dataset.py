"""Which clips a dataset has, which shard each belongs to, and the manifest that joins it all.

A shard is the unit of every per-clip job. A clip's shard is a hash of its id, so it never
depends on which other clips exist: adding clips reruns only the shards that receive them.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from impressions import LABELS, SPLITS
from impressions.annotations import load_annotations
from impressions.media import MediaError, probe

CLIP_NAME = re.compile(r"^[A-Za-z0-9_-]{11}\.\d{3}$")
"""The ChaLearn First Impressions clip id: an 11-character YouTube id and a 3-digit chunk."""

PROBE_COLUMNS = [
    "clip_id", "split", "shard", "path", "duration_s", "audio_duration_s", "has_audio", "has_video",
    "audio_rate", "audio_channels", "fps", "width", "height", "size_bytes", "reason",
]
MANIFEST_COLUMNS = [
    "clip_id", "split", "shard", "path", "duration_s", "audio_duration_s", "has_audio",
    "audio_rate", "fps", "width", "height", "size_bytes", *LABELS,
]
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


def probe_shard(
    clips: list[Clip], *, shard: str, min_duration_s: float, log: Callable[[str], None] = print
) -> pd.DataFrame:
    """Probe every clip of a shard and decide the media-level exclusions.

    Returns one row per clip (PROBE_COLUMNS); ``reason`` is empty for a usable clip and says why
    otherwise: unreadable file, no video or audio stream, audio too short, or a duplicate id.
    """
    rows = []
    seen: set[str] = set()
    for number, clip in enumerate(clips, start=1):
        row = {"clip_id": clip.clip_id, "split": clip.split, "shard": shard, "path": clip.path, "reason": ""}
        try:
            row |= probe(clip.path).as_row()
            row["reason"] = _media_reason(row, min_duration_s)
        except MediaError as error:
            row["reason"] = f"unreadable: {error}"
        if not CLIP_NAME.match(clip.clip_id):
            log(f"note: {clip.clip_id} does not follow the ChaLearn name pattern <11 chars>.<3 digits>")
        if clip.clip_id in seen:
            row["reason"] = f"duplicate clip id {clip.clip_id} in another split folder"
        seen.add(clip.clip_id)
        rows.append(row)
        log(f"[{number}/{len(clips)}] {clip.clip_id} {row['reason'] or 'ok'}")
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def _media_reason(row: dict, min_duration_s: float) -> str:
    if not row["has_video"]:
        return "no video stream"
    if not row["has_audio"]:
        return "no audio stream"
    if row["audio_duration_s"] < min_duration_s:
        return f"too short: audio {row['audio_duration_s']:.2f} s < {min_duration_s:g} s"
    return ""


def read_labels(root: str | os.PathLike, splits: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """Load each split's annotation pickle (safely) into a frame indexed by clip id."""
    return {split: load_annotations(Path(root) / where["annotations"]) for split, where in splits.items()}


def build_manifest(probes: pd.DataFrame, labels: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join probe results with labels; every clip ends up in exactly one of the two frames.

    Returns
    -------
    manifest : usable clips (MANIFEST_COLUMNS), sorted by split and clip id
    excluded : the others with their reason (EXCLUDED_COLUMNS)
    """
    rows, excluded = [], []
    for row in probes.to_dict("records"):
        reason = row["reason"] if isinstance(row["reason"], str) else ""
        split_labels = labels.get(row["split"])
        if not reason:
            if split_labels is None or row["clip_id"] not in split_labels.index:
                reason = f"missing labels: {row['clip_id']}.mp4 is not in the {row['split']} annotations"
            else:
                values = split_labels.loc[row["clip_id"]]
                bad = [label for label in LABELS if not 0.0 <= values[label] <= 1.0]
                if bad:
                    reason = f"invalid labels: {', '.join(bad)} outside [0, 1] or missing"
                else:
                    row |= values.to_dict()
        if reason:
            excluded.append({**row, "reason": reason})
        else:
            rows.append(row)
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    manifest["split"] = pd.Categorical(manifest["split"], categories=SPLITS)
    manifest = manifest.sort_values(["split", "clip_id"]).reset_index(drop=True)
    manifest["split"] = manifest["split"].astype(str)
    excluded_frame = pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS).sort_values("clip_id").reset_index(drop=True)
    return manifest, excluded_frame


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read manifest.tsv with clip ids and shards kept as strings."""
    return pd.read_csv(path, sep="\t", dtype={"clip_id": str, "shard": str, "split": str})


def read_probe(path: str | os.PathLike) -> pd.DataFrame:
    """Read one shard's probe table; ``reason`` is empty for usable clips."""
    frame = pd.read_csv(path, sep="\t", dtype={"clip_id": str, "shard": str, "split": str, "reason": str})
    frame["reason"] = frame["reason"].fillna("")
    return frame
