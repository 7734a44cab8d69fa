"""Write outputs atomically: to a temporary name beside the target, then rename.

A job that dies half-way leaves no file that looks finished, so Snakemake (or a person) never
mistakes a partial cache for a complete one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` when the block succeeds.

    Works for files and directories. On error the temporary path is removed and `path` is left
    as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")  # suffix kept for writers that check it
    _remove(tmp)
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write `obj` as indented, key-sorted JSON (stable bytes for the same content)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_tsv(path: str | os.PathLike, frame: pd.DataFrame, *, exact: bool = False) -> None:
    """Write a data frame as a tab-separated file without the index: numbers to 6 significant
    digits for reading, or `exact` (each float as its shortest exact repr) for a table that later
    stages compute from, such as labels and times in the clip sheet and the manifest."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format=None if exact else "%.6g")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
