"""Dataset kinds: each adapter knows one layout of clips and labels as researchers have it.

An adapter module provides
- ``find(root, dataset)``: the files under the dataset's folders, as (split, path relative to
  root); run while Snakemake builds its DAG, so a missing folder or label file is an error
  before any job runs;
- ``identify(split, relpath)``: the clip id of a file, or None and why it is not a clip;
- ``label_files(dataset)``: the label files, relative to root (inputs of the sheet rule);
- ``read_labels(root, dataset)``: one row per labelled clip (``clip_id``, ``split``, ``source``,
  then ``label_columns(dataset)`` and metadata), and per row why its labels are unusable; run by
  the sheet job, and for a user's dataset also while the DAG is built, so that a label file that
  cannot be used is an error before any job;
- ``label_columns(dataset)``, ``BY_SPLIT`` (a clip matches the labels of its folder's split),
  ``PREDICTS`` (its unlabelled rows form a ``predict`` split, predicted into ``submission.csv``),
  ``HAS_TEXT`` (its sheet has each utterance's ``text``, the text feature family's input)
  and ``default_splits()`` (where the kind's files are when config names no folders).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from impressions.data.clips import Clip
from impressions.data.kinds import chalearn, meld, table
from impressions.data.media import VIDEO_EXTENSIONS
from impressions.data.sheet import Listing, Skipped
from impressions.io.errors import InputError

KINDS = {"chalearn": chalearn, "meld": meld, "table": table}
"""dataset.kind -> its adapter module."""

GENERATORS = {"chalearn": "synthetic", "meld": "synthetic_meld", "table": "synthetic_table"}
"""dataset.kind -> the module (in impressions.data) that generates an embedded example of it."""


def adapter(kind: str):
    """The adapter module of a dataset kind."""
    if kind not in KINDS:
        raise InputError(f"dataset.kind: unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return KINDS[kind]


def generator(kind: str):
    """The generator module of a kind's embedded example: ``plan``, ``output_files``, ``generate``,
    and ``DATASET``, the `dataset` settings its adapter reads the generated files with."""
    adapter(kind)
    return importlib.import_module(f"impressions.data.{GENERATORS[kind]}")


def listing(kind: str, root: str, dataset: dict, found: list[tuple[str, str]] | None = None) -> Listing:
    """The clips and other files of a dataset: found on disk, or `found` (a generator's plan).

    A link whose target is gone is no clip: as a job's input it would stop the whole run."""
    kind_adapter = adapter(kind)
    files = kind_adapter.find(Path(root), dataset) if found is None else found
    clips, skipped = [], []
    for split, relpath in files:
        clip_id, reason = kind_adapter.identify(split, relpath)
        if clip_id is not None and found is None and not (Path(root) / relpath).exists():
            clip_id, reason = None, f"not a clip: a link to {os.readlink(Path(root) / relpath)}, which does not exist"
        if clip_id is None:
            skipped.append(Skipped(split, f"{root}/{relpath}", reason))
        else:
            clips.append(Clip(clip_id, split, f"{root}/{relpath}"))
    return Listing(clips, skipped)


def has_video(clips: list[Clip]) -> bool:
    """Whether any clip may hold video (by its extension): a dataset of audio files has no frame stage."""
    return any(clip.path.lower().endswith(VIDEO_EXTENSIONS) for clip in clips)
