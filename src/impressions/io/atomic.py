"""Write outputs atomically: to a temporary name beside the target, then rename.

A job that dies half-way leaves no file that looks finished, so Snakemake (or a person) never
mistakes a partial cache for a complete one. The temporary name holds the host and the process id:
what a killed job left is removed the next time its target is written, once that process is gone.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
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
    _remove_orphans(target)
    tmp = target.with_name(f".{target.stem}.{socket.gethostname()}-{os.getpid()}.tmp{target.suffix}")  # suffix kept for writers that check it
    _remove(tmp)
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        _remove(tmp)


def _remove_orphans(target: Path) -> None:
    """Remove the temporary files of `target` whose writer, a process of this host, is gone (a killed job's)."""
    host = socket.gethostname()
    for tmp in target.parent.glob(f".{glob.escape(target.stem)}.{glob.escape(host)}-*.tmp{glob.escape(target.suffix)}"):
        pid = tmp.name[len(f".{target.stem}.{host}-") :].split(".tmp", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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
