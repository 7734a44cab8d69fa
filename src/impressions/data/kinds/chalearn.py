"""ChaLearn First Impressions V2: mp4s under one folder per split (nested as the archives unpack,
``train/training80_01/<id>.mp4``) and one annotation pickle per split, written by Python 2."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from impressions import LABELS
from impressions.data.annotations import load_annotations
from impressions.data.sheet import walk
from impressions.io.errors import InputError

BY_SPLIT = True
PREDICTS = False
HAS_TEXT = False


def default_splits() -> dict:
    return {
        "train": {"videos": "train", "annotations": "annotation_training.pkl"},
        "val": {"videos": "val", "annotations": "annotation_validation.pkl"},
        "test": {"videos": "test", "annotations": "annotation_test.pkl"},
    }


def splits(dataset: dict) -> dict:
    return dataset.get("splits") or default_splits()


def label_columns(dataset: dict) -> list[str]:
    return list(LABELS)


def label_files(dataset: dict) -> list[str]:
    return [where["annotations"] for where in splits(dataset).values()]


def find(root: Path, dataset: dict) -> list[tuple[str, str]]:
    """Every file under each split's folder, recursively; a missing folder or pickle, or a split
    without a single mp4, is an error that names it."""
    found = []
    for split, where in splits(dataset).items():
        folder, annotations = root / where["videos"], root / where["annotations"]
        if not folder.is_dir():
            raise InputError(f"dataset.splits.{split}.videos: {folder} is not a folder; unzip the {split} clips there or set the path")
        if not annotations.is_file():
            raise InputError(f"dataset.splits.{split}.annotations: {annotations} is missing; put the {split} annotation pickle there or set the path")
        files = walk(folder, root)
        if not any(identify(split, f)[0] for f in files):
            raise InputError(f"split {split}: no .mp4 clip under {folder} (searched all sub-folders)")
        found += [(split, f) for f in files]
    return found


def identify(split: str, relpath: str) -> tuple[str | None, str]:
    """A clip is an .mp4 (any case) that is not hidden; its id is the name without the extension (`clip_id`)."""
    name = PurePosixPath(relpath).name
    if name.startswith("."):
        return None, "not a clip: a hidden file"
    if not name.lower().endswith(".mp4"):
        return None, "not a clip: the chalearn layout's clips are .mp4 files"
    return clip_id(name[: -len(".mp4")]), ""


def clip_id(name: str) -> str:
    """A clip's id from its name without .mp4: white space and backslashes made '_', since ids
    name the clip's cache files; file and labels get the same id."""
    return re.sub(r"[\s\\]", "_", name)


def read_labels(root: Path, dataset: dict) -> tuple[pd.DataFrame, pd.Series]:
    """Each split's pickle (read safely, as Python 2 wrote it); labels outside [0, 1] are unusable."""
    frames = []
    for split, where in splits(dataset).items():
        frame = load_annotations(root / where["annotations"]).reset_index()
        frame["clip_id"] = frame["clip_id"].map(clip_id)
        frames.append(frame.assign(split=split, source=where["annotations"]))
    labels = pd.concat(frames, ignore_index=True)[["clip_id", "split", "source", *LABELS]]
    values = labels[list(LABELS)]
    bad = ~((values >= 0.0) & (values <= 1.0))
    reasons = pd.Series([f"invalid labels: {', '.join(values.columns[row])} outside [0, 1] or missing" if row.any() else "" for row in bad.to_numpy()])
    return labels, reasons
