"""Reading ChaLearn First Impressions annotation pickles without trusting them.

The annotation files come from elsewhere, and `pickle.load` runs whatever code a pickle names.
`load_annotations` only lets a pickle build plain containers, strings and numbers (plus numpy
scalars, which some copies of the ChaLearn files hold) and refuses anything else.
"""

from __future__ import annotations

import io
import numbers
import os
import pickle

import pandas as pd

from impressions import LABELS
from impressions.io.errors import InputError

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # how protocol-2 pickles carry the raw bytes of a numpy scalar
}


class AnnotationError(InputError):
    """An annotation file is not in the expected format or tries to do more than hold data."""


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise AnnotationError(
            f"the pickle asks for {module}.{name}; annotation pickles may only hold dicts, lists, "
            "strings and numbers, so it was not loaded (re-export it as a plain dict of floats)"
        )


def safe_load_pickle(path: str | os.PathLike) -> object:
    """Unpickle a file that may only contain plain data (Python 2 pickles read as latin1)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise AnnotationError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return _DataOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except AnnotationError as error:
        raise AnnotationError(f"{path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise AnnotationError(f"{path}: not a readable pickle ({error})") from None


def load_annotations(path: str | os.PathLike) -> pd.DataFrame:
    """Read one ChaLearn annotation pickle into a frame indexed by clip id.

    The file holds a dict from label (the five traits and ``interview``) to a dict from clip file
    name (``<id>.<nnn>.mp4``) to a score in [0, 1].

    Returns
    -------
    pd.DataFrame [index=clip_id, columns=LABELS, dtype=float64]
    """
    content = safe_load_pickle(path)
    if not isinstance(content, dict):
        raise AnnotationError(f"{path}: expected a dict from label to {{clip: score}}, found {type(content).__name__}")
    missing = [label for label in LABELS if label not in content]
    if missing:
        raise AnnotationError(f"{path}: labels {missing} are missing; found {sorted(map(str, content))}, expected {list(LABELS)}")
    columns = {}
    for label in LABELS:
        scores = content[label]
        if not isinstance(scores, dict):
            raise AnnotationError(f"{path}: {label!r} should map clip file names to scores, found {type(scores).__name__}")
        columns[label] = {_clip_id(path, name): _score(path, label, name, value) for name, value in scores.items()}
    frame = pd.DataFrame(columns, columns=list(LABELS))
    frame.index.name = "clip_id"
    return frame.sort_index()


def _clip_id(path, name) -> str:
    if isinstance(name, bytes):
        name = name.decode("latin1")
    if not isinstance(name, str):
        raise AnnotationError(f"{path}: clip names must be strings, found {name!r}")
    name = _from_python2_bytes(name)
    return name[:-4] if name.endswith(".mp4") else name


def _from_python2_bytes(name: str) -> str:
    """A Python 2 byte string of a non-ASCII file name holds its UTF-8 bytes, which reading as
    latin1 garbles ("Zoë" as "ZoÃ«"); undo that, so the name matches the file's."""
    try:
        return name.encode("latin1").decode("utf-8")
    except UnicodeError:
        return name


def _score(path, label, name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AnnotationError(f"{path}: {label} score of {name} is {value!r}, not a number")
    return float(value)
