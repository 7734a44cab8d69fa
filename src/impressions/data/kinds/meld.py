"""MELD (MELD.Raw): utterance mp4s ``dia{D}_utt{U}.mp4`` in one folder per split and one CSV per
split with the utterance's text, speaker, dialogue, emotion and sentiment.

Dialogue ids restart in every split, so a clip id is ``<split>_dia{D}_utt{U}``. The CSVs are
found in the wild as UTF-8, UTF-8 with a byte-order mark, and with cp1252 characters (such as
\\x92 for an apostrophe) among UTF-8 lines; `decode_text` reads all three.
"""

from __future__ import annotations

import codecs
import io
import re
from pathlib import Path, PurePosixPath

import pandas as pd

from impressions import EMOTIONS, SENTIMENTS
from impressions.data.sheet import walk
from impressions.io.errors import InputError

BY_SPLIT = True
PREDICTS = False
HAS_TEXT = True
CSV_COLUMNS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]
"""The columns of the official CSVs."""
SHEET_NAMES = {
    "Emotion": "emotion",
    "Sentiment": "sentiment",
    "Utterance": "text",
    "Speaker": "speaker",
    "Dialogue_ID": "dialogue",
    "Utterance_ID": "utterance_id",
    "Season": "season",
    "Episode": "episode",
    "StartTime": "start_s",
    "EndTime": "end_s",
    "Sr No.": "sr_no",
}
"""CSV column -> sheet column (labels first, then metadata named as DESIGN.md's clip sheet names them;
StartTime and EndTime, ``hh:mm:ss,mmm`` in the episode, become seconds)."""
_TIMESTAMP = re.compile(r"^\s*(\d+):(\d{2}):(\d{2})[,.](\d{1,3})\s*$")
_UTTERANCE = re.compile(r"^dia(\d+)_utt(\d+)\.mp4$", re.IGNORECASE)


def default_splits() -> dict:
    return {
        "train": {"videos": "train_splits", "annotations": "train_sent_emo.csv"},
        "val": {"videos": "dev_splits_complete", "annotations": "dev_sent_emo.csv"},
        "test": {"videos": "output_repeated_splits_test", "annotations": "test_sent_emo.csv"},
    }


def splits(dataset: dict) -> dict:
    return dataset.get("splits") or default_splits()


def label_columns(dataset: dict) -> list[str]:
    return ["emotion", "sentiment"]


def label_files(dataset: dict) -> list[str]:
    return [where["annotations"] for where in splits(dataset).values()]


def find(root: Path, dataset: dict) -> list[tuple[str, str]]:
    """Every file under each split's folder; a missing folder or CSV, or a split without one
    utterance file, is an error that names it."""
    found = []
    for split, where in splits(dataset).items():
        folder, csv = root / where["videos"], root / where["annotations"]
        if not folder.is_dir():
            raise InputError(f"dataset.splits.{split}.videos: {folder} is not a folder; unpack MELD.Raw's {split} archive there or set the path")
        if not csv.is_file():
            raise InputError(f"dataset.splits.{split}.annotations: {csv} is missing; put MELD's {split} CSV there or set the path")
        files = walk(folder, root)
        if not any(identify(split, f)[0] for f in files):
            raise InputError(f"split {split}: no dia<D>_utt<U>.mp4 file under {folder}")
        found += [(split, f) for f in files]
    return found


def clip_id(split: str, dialogue: int, utterance: int) -> str:
    return f"{split}_dia{dialogue}_utt{utterance}"


def identify(split: str, relpath: str) -> tuple[str | None, str]:
    """An utterance is ``dia{D}_utt{U}.mp4``; other names (macOS ``._`` copies among them) are not clips."""
    match = _UTTERANCE.match(PurePosixPath(relpath).name)
    if match is None:
        return None, "not a clip: MELD utterance files are named dia<D>_utt<U>.mp4"
    return clip_id(split, int(match.group(1)), int(match.group(2))), ""


def decode_text(data: bytes) -> str:
    """A CSV's text: UTF-8 (with or without a byte-order mark), a line at a time falling back to cp1252."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_decode_line(line) for line in data.splitlines(keepends=True))


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def read_csv(path: Path) -> pd.DataFrame:
    """One MELD CSV, text decoded as found in the wild; missing columns are an error that names them."""
    try:
        frame = pd.read_csv(io.StringIO(decode_text(path.read_bytes())), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: not a readable CSV ({error})") from None
    missing = [column for column in CSV_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(f"{path}: columns {missing} are missing; a MELD CSV has {CSV_COLUMNS}")
    return frame


def read_labels(root: Path, dataset: dict) -> tuple[pd.DataFrame, pd.Series]:
    """Each split's CSV; an emotion or sentiment outside MELD's classes, or a bad id, is unusable."""
    frames = []
    for split, where in splits(dataset).items():
        frame = read_csv(root / where["annotations"])
        dialogue, utterance = (pd.to_numeric(frame[c], errors="coerce") for c in ("Dialogue_ID", "Utterance_ID"))
        ids = [clip_id(split, int(d), int(u)) if d == d and u == u else f"{split}_row{i + 2}" for i, (d, u) in enumerate(zip(dialogue, utterance))]
        frame = frame.rename(columns=SHEET_NAMES)[list(SHEET_NAMES.values())]
        frame["start_s"], frame["end_s"] = frame["start_s"].map(seconds), frame["end_s"].map(seconds)
        frame["emotion"], frame["sentiment"] = frame["emotion"].str.strip().str.lower(), frame["sentiment"].str.strip().str.lower()
        frames.append(frame.assign(clip_id=ids, split=split, source=where["annotations"], bad_id=dialogue.isna() | utterance.isna()))
    labels = pd.concat(frames, ignore_index=True)
    reasons = pd.Series([_reason(row) for row in labels.itertuples()])
    labels = labels.drop(columns=["bad_id"])
    return labels[["clip_id", "split", "source", *SHEET_NAMES.values()]], reasons


def seconds(timestamp: str) -> float:
    """MELD's ``hh:mm:ss,mmm`` in seconds (NaN when it is not one)."""
    match = _TIMESTAMP.match(timestamp)
    if match is None:
        return float("nan")
    hours, minutes, secs, millis = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(secs) + int(millis.ljust(3, "0")) / 1000


def _reason(row) -> str:
    if row.bad_id:
        return "invalid labels: Dialogue_ID or Utterance_ID is not a number"
    if row.emotion not in EMOTIONS:
        return f"invalid labels: emotion {row.emotion!r} is not one of {', '.join(EMOTIONS)}"
    if row.sentiment not in SENTIMENTS:
        return f"invalid labels: sentiment {row.sentiment!r} is not one of {', '.join(SENTIMENTS)}"
    return ""
