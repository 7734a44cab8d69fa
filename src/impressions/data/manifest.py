"""The manifest: probe every clip, join the labels, and record every exclusion with its reason.

Every input clip ends up in exactly one of manifest.tsv and excluded.tsv.
"""

from __future__ import annotations

import os
from typing import Callable

import pandas as pd

from impressions import LABELS, SPLITS
from impressions.data.annotations import load_annotations
from impressions.data.clips import CLIP_NAME, EXCLUDED_COLUMNS, MANIFEST_COLUMNS, PROBE_COLUMNS, Clip
from impressions.data.media import MediaError, probe


def probe_shard(clips: list[Clip], *, shard: str, min_duration_s: float, log: Callable[[str], None] = print) -> pd.DataFrame:
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


def read_labels(annotation_files: dict[str, str | os.PathLike]) -> dict[str, pd.DataFrame]:
    """Load each split's annotation pickle (safely) into a frame indexed by clip id."""
    return {split: load_annotations(path) for split, path in annotation_files.items()}


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
