"""The manifest: probe every clip, join the probes with the clip sheet, and record every exclusion.

Every clip of the sheet ends up in manifest.tsv or, with the stage and reason, in the media
exclusions; `account` adds what the feature stages could not compute, for excluded.tsv.
"""

from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd

from impressions.data.clips import EXCLUDED_COLUMNS, MEDIA_COLUMNS, PROBE_COLUMNS, SHEET_COLUMNS, SHEET_SPLITS, Clip, shard_of
from impressions.data.media import MediaError, probe


def probe_shard(clips: list[Clip], *, shard: str, min_duration_s: float, log: Callable[[str], None] = print) -> pd.DataFrame:
    """Probe every clip of a shard and decide the media-level exclusions.

    Returns one row per clip (PROBE_COLUMNS); ``reason`` is empty for a usable clip and says why
    otherwise: unreadable file, no audio stream, audio too short, or an id found twice (every
    copy is left out, as the sheet does). A clip without video is usable by the audio models;
    ``note`` says so, and that a clip with several audio streams is heard through its first.
    """
    rows = []
    counts = pd.Series([clip.clip_id for clip in clips]).value_counts()
    for number, clip in enumerate(clips, start=1):
        row = {"clip_id": clip.clip_id, "split": clip.split, "shard": shard, "path": clip.path, "note": "", "reason": ""}
        try:
            row |= probe(clip.path).as_row()
            row["reason"], row["note"] = media_reason(row, min_duration_s), _media_note(row)
        except MediaError as error:
            row["reason"] = f"unreadable: {error}"
        if counts[clip.clip_id] > 1:
            row["reason"] = f"duplicate clip id {clip.clip_id}: found {counts[clip.clip_id]} times"
        rows.append(row)
        log(f"[{number}/{len(clips)}] {clip.clip_id} {row['reason'] or 'ok'}{'; ' + row['note'] if row['note'] else ''}")
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def media_reason(row: dict, min_duration_s: float) -> str:
    """Why a probed clip cannot be used ("" when it can): no audio stream, or audio too short
    (the probe stage's rule, which the web page applies to an upload too)."""
    if not row["has_audio"]:
        return "no audio stream"
    if row["audio_duration_s"] < min_duration_s:
        return f"too short: audio {row['audio_duration_s']:.2f} s < {min_duration_s:g} s"
    return ""


def _media_note(row: dict) -> str:
    notes = []
    if row["audio_streams"] > 1:
        notes.append(f"{row['audio_streams']} audio streams: the first is used")
    if not row["has_video"]:
        notes.append("no video stream: audio models only")
    return "; ".join(notes)


def build_manifest(sheet: pd.DataFrame, probes: pd.DataFrame, decode_failures: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join the sheet with the probes and the audio decoding; every sheet clip ends in one frame.

    Parameters
    ----------
    sheet : the clip sheet (clips.tsv)
    probes : every shard's probe table, concatenated
    decode_failures : clip id -> why its audio could not be decoded (the wav stage's record)

    Returns
    -------
    manifest : the usable clips: clip_id, split, shard, path, MEDIA_COLUMNS, then the sheet's
        label and metadata columns; sorted by split and clip id
    excluded : the others (EXCLUDED_COLUMNS, stage "probe" or "wav")
    """
    extra = [c for c in sheet.columns if c not in SHEET_COLUMNS]
    found = probes.drop(columns=["split"]).drop_duplicates(["clip_id", "path"]).set_index(["clip_id", "path"])
    rows, excluded = [], []
    for clip in sheet.to_dict("records"):
        key = (clip["clip_id"], clip["path"])
        if key not in found.index:
            excluded.append(_excluded(clip, "probe", "not probed: the file list changed while the workflow ran; run it again"))
            continue
        media = found.loc[key].to_dict()
        row = {**clip, **media}
        if media["reason"]:
            excluded.append(_excluded(row, "probe", media["reason"]))
        elif clip["clip_id"] in decode_failures:
            excluded.append(_excluded(row, "wav", decode_failures[clip["clip_id"]]))
        else:
            rows.append(row)
    manifest = pd.DataFrame(rows, columns=["clip_id", "split", "shard", "path", *MEDIA_COLUMNS, *extra])
    manifest["split"] = pd.Categorical(manifest["split"], categories=SHEET_SPLITS)
    manifest = manifest.sort_values(["split", "clip_id"]).reset_index(drop=True)
    manifest["split"] = manifest["split"].astype(str)
    return manifest, pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS)


def _excluded(row: dict, stage: str, reason: str) -> dict:
    return {"clip_id": row["clip_id"], "split": row["split"], "shard": row.get("shard", ""), "path": row["path"], "stage": stage, "reason": reason}


def account(manifest: pd.DataFrame, exclusions: list[pd.DataFrame], cache_failures: Mapping[str, Mapping[str, str]], n_shards: int) -> pd.DataFrame:
    """excluded.tsv: the sheet's and the media exclusions, then each manifest clip that a feature
    family's cache could not compute (it is left out of the models that read that family only).

    Parameters
    ----------
    cache_failures : family -> clip id -> reason, from every shard's cache
    """
    rows = [frame for frame in exclusions if len(frame)]
    splits = dict(zip(manifest["clip_id"], manifest["split"]))
    paths = dict(zip(manifest["clip_id"], manifest["path"]))
    for family, failures in sorted(cache_failures.items()):
        kept = sorted((c, r) for c, r in failures.items() if c in splits)
        listed = [{"clip_id": c, "split": splits[c], "shard": "", "path": paths[c], "stage": family, "reason": r} for c, r in kept]
        rows.append(pd.DataFrame(listed, columns=EXCLUDED_COLUMNS))
    excluded = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=EXCLUDED_COLUMNS)
    excluded["shard"] = [shard or (shard_of(c, n_shards) if c else "") for c, shard in zip(excluded["clip_id"], excluded["shard"])]
    return excluded.sort_values(["clip_id", "path", "stage"], kind="stable").reset_index(drop=True)[EXCLUDED_COLUMNS]
