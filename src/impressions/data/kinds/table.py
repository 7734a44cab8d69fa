"""A table of clips: CSV/TSV files naming media files (video or audio) relative to the root, with
label columns and optionally a split column, as audio emotion challenges ship them.

Rows without labels (an unlabelled ``test.csv``) form the ``predict`` split. Without a split
column, the labelled rows are split at random with the configured fractions, stratified by class
when the labels are classes, from `table.seed`: the same table gives the same split.
"""

from __future__ import annotations

import io
import re
from pathlib import Path, PurePosixPath

import pandas as pd

from impressions import SPLITS
from impressions.data.kinds.meld import decode_text
from impressions.data.media import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS
from impressions.data.sheet import walk
from impressions.io.errors import InputError

BY_SPLIT = False
PREDICTS = True
HAS_TEXT = False
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}
"""Values of a split column (any case) -> split."""


def default_splits() -> dict:
    return {}


def settings(dataset: dict) -> dict:
    return dataset["table"]


def label_columns(dataset: dict) -> list[str]:
    return list(settings(dataset)["label_columns"])


def label_files(dataset: dict) -> list[str]:
    return list(settings(dataset)["files"])


def find(root: Path, dataset: dict) -> list[tuple[str, str]]:
    """Every file under the root but the tables; a missing root or table is an error that names it."""
    if not root.is_dir():
        raise InputError(f"dataset.root: {root} is not a folder")
    tables = set(label_files(dataset))
    for table in tables:
        if not (root / table).is_file():
            raise InputError(f"dataset.table.files: {root / table} is missing")
    return [("", f) for f in walk(root, root) if f not in tables]


def clip_id(relpath: str) -> str:
    """The file's path without its extension, every character but letters, digits, '.', '-' and '_' made '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(PurePosixPath(relpath).with_suffix("")))


def identify(split: str, relpath: str) -> tuple[str | None, str]:
    if PurePosixPath(relpath).name.startswith("."):
        return None, "not a clip: a hidden file"
    if not relpath.lower().endswith(VIDEO_EXTENSIONS + AUDIO_EXTENSIONS):
        return None, f"not a clip: not a media file ({', '.join(VIDEO_EXTENSIONS + AUDIO_EXTENSIONS)})"
    return clip_id(relpath), ""


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or TSV, decoded as MELD's CSVs are (`decode_text`): Excel writes UTF-8 with a byte-order mark, or cp1252."""
    text = io.StringIO(decode_text(path.read_bytes()))
    try:
        return pd.read_csv(text, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: not a readable table ({error})") from None


def read_labels(root: Path, dataset: dict) -> tuple[pd.DataFrame, pd.Series]:
    """Every row of every table; rows without labels go to ``predict``, labelled rows without a
    split are split by `assign_splits`."""
    config = settings(dataset)
    path_column, labels, split_column = config["path_column"], label_columns(dataset), config["split_column"]
    frames = []
    for table in config["files"]:
        frame = read_table(root / table)
        if path_column not in frame.columns:
            raise InputError(f"{root / table}: no column {path_column!r} naming the files (dataset.table.path_column); it has {list(frame.columns)}")
        if split_column and split_column not in frame.columns:
            raise InputError(f"{root / table}: no split column {split_column!r} (dataset.table.split_column); it has {list(frame.columns)}")
        for label in labels:
            if label not in frame.columns:
                frame[label] = ""  # an unlabelled table, as a challenge's test.csv
        relpaths = frame[path_column].str.strip().str.replace("\\", "/", regex=False).str.removeprefix("./")
        split = frame[split_column].str.strip().str.lower().map(lambda s: SPLIT_NAMES.get(s, f"?{s}")) if split_column else ""
        meta = [c for c in frame.columns if c not in (path_column, split_column, *labels)]
        columns = {"clip_id": relpaths.map(clip_id), "split": split, "source": table, **{c: frame[c] for c in labels}, "file": relpaths}
        frames.append(pd.DataFrame({**columns, **{c: frame[c] for c in meta}}))
    rows = pd.concat(frames, ignore_index=True)
    unlabelled = (rows[labels].apply(lambda column: column.str.strip()) == "").any(axis=1)
    reasons = pd.Series([f"invalid split {s[1:]!r}: use train, val or test" if s.startswith("?") else "" for s in rows["split"]])
    rows.loc[unlabelled, "split"] = "predict"
    for label in labels:
        rows[label] = _typed(rows[label])
    todo = (rows["split"] == "") & (reasons == "")
    rows.loc[todo, "split"] = assign_splits(rows[todo], labels, config["split_fractions"], config["seed"])
    return rows, reasons


def _typed(column: pd.Series) -> pd.Series:
    """Numbers stay numbers (regression labels); anything else is a class name."""
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().eq(column.str.strip() != "").all() else column.str.strip()


def assign_splits(rows: pd.DataFrame, labels: list[str], fractions: dict, seed: int) -> list[str]:
    """train/val/test for each labelled row, in the given fractions, stratified when labels are classes."""
    if rows.empty:
        return []
    from sklearn.model_selection import train_test_split  # here, not at the top: the DAG's parse imports this module

    order = rows.sort_values("clip_id")
    classes = order[labels].astype(str).agg("|".join, axis=1) if not all(pd.api.types.is_numeric_dtype(order[c]) for c in labels) else None
    total = sum(fractions[s] for s in SPLITS)
    split = pd.Series("train", index=order.index)
    try:
        rest, test = train_test_split(order.index, test_size=fractions["test"] / total, random_state=seed, stratify=classes)
        val_share = fractions["val"] / (fractions["train"] + fractions["val"])
        train, val = train_test_split(rest, test_size=val_share, random_state=seed, stratify=None if classes is None else classes.loc[rest])
    except ValueError as error:
        raise InputError(
            f"the labelled rows could not be split train/val/test as dataset.table.split_fractions asks ({error}); "
            "add a split column to the table (dataset.table.split_column) or change the fractions"
        ) from None
    split.loc[val], split.loc[test] = "val", "test"
    return list(split.loc[rows.index])
