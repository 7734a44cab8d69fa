"""Which clips a dataset has, which shard each belongs to, and the tables that list them.

A shard is the unit of every per-clip job. A clip's shard is a hash of its id, so it never
depends on which other clips exist: adding clips reruns only the shards that receive them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from impressions import SPLITS

SHEET_SPLITS = (*SPLITS, "predict")
"""The splits of the clip sheet: those models learn and are scored on, and the unlabelled clips to predict."""

DECODE_FAILURES = "failed.tsv"
"""In a shard's wav folder: the clips whose audio could not be decoded, with ffmpeg's reason."""

SHEET_COLUMNS = ["clip_id", "split", "path"]
"""The columns every clip sheet starts with; the dataset kind's label and metadata columns follow."""

PROBE_COLUMNS = [
    "clip_id",
    "split",
    "shard",
    "path",
    "duration_s",
    "audio_duration_s",
    "has_audio",
    "has_video",
    "audio_streams",
    "audio_rate",
    "audio_channels",
    "fps",
    "width",
    "height",
    "size_bytes",
    "note",
    "reason",
]
MEDIA_COLUMNS = [column for column in PROBE_COLUMNS if column not in ("clip_id", "split", "shard", "path", "reason")]
"""What the manifest keeps of each usable clip's probe, after the sheet's first columns."""

EXCLUDED_COLUMNS = ["clip_id", "split", "shard", "path", "stage", "reason"]
"""excluded.tsv: one row per file or label left out, the stage that left it out and why. A row whose
stage is a feature family (frames, logmel, ...) leaves the clip out of the models that read it only."""


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


def clips_by_shard(clips: Iterable[Clip], n_shards: int) -> dict[str, list[Clip]]:
    """Group clips by shard; every shard appears, even an empty one, in clip-id order."""
    shards: dict[str, list[Clip]] = {shard_name(i): [] for i in range(n_shards)}
    for clip in clips:
        shards[shard_of(clip.clip_id, n_shards)].append(clip)
    return {shard: sorted(members, key=lambda c: (c.clip_id, c.split)) for shard, members in shards.items()}


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read manifest.tsv (or the sheet, or excluded.tsv) with ids, splits, shards and text kept as strings."""
    return _read_table(path)


_TEXT_COLUMNS = ("clip_id", "shard", "split", "path", "reason", "stage", "note")
"""Columns read as text, an empty cell as "" (never NaN, never a number: shard "007" stays "007")."""


def _read_table(path: str | os.PathLike) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype={column: str for column in _TEXT_COLUMNS})
    for column in _TEXT_COLUMNS:
        if column in frame:
            frame[column] = frame[column].fillna("")
    return frame


def read_probe(path: str | os.PathLike) -> pd.DataFrame:
    """Read one shard's probe table; ``reason`` is empty for usable clips."""
    return _read_table(path)


def usable_clips(probe_path: str | os.PathLike) -> list[str]:
    """The ids of a shard's clips that passed probing, in shard order."""
    probes = read_probe(probe_path)
    return list(probes.loc[probes["reason"] == "", "clip_id"])


def decoded_clips(probe_path: str | os.PathLike, wav_folder: str | os.PathLike) -> list[str]:
    """The usable clips of a shard that have a wav (those whose audio could not be decoded are left out)."""
    failed = decode_failures(wav_folder)
    return [clip_id for clip_id in usable_clips(probe_path) if clip_id not in failed]


def decode_failures(wav_folder: str | os.PathLike) -> dict[str, str]:
    """The clips of a shard's wav folder whose audio could not be decoded: clip id -> reason."""
    frame = pd.read_csv(os.path.join(wav_folder, DECODE_FAILURES), sep="\t", dtype=str, keep_default_na=False)
    return dict(zip(frame["clip_id"], frame["reason"]))
