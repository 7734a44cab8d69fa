"""Test fixtures made by code, so that no binary file lives in git: annotation pickles written
opcode by opcode as Python 2 wrote them, and a ChaLearn-layout dataset that holds one of each
problem, with media from tests/planted_media.py."""

from __future__ import annotations

import itertools
import os
import pickle
import random
import struct
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from impressions import LABELS
from planted_media import (
    make_audio_only_mp4,
    make_clip,
    make_cut_mid_stream,
    make_empty,
    make_mp3_as_mp4,
    make_silent_clip,
    make_text_as_mp4,
    make_truncated,
    make_two_audio_streams,
    make_undecodable_audio,
    make_undecodable_video,
    make_variable_frame_rate,
    make_video_only,
)

BATCHSIZE = 1000
"""How many dict items cPickle writes between one MARK and its SETITEMS."""


def py2_pickle(content: dict[str, dict[str, float]], protocol: int = 2, *, shared_names: bool = True) -> bytes:
    """The bytes Python 2.7's ``cPickle.dump(content, f, protocol)`` writes, for protocols 0 and 2.

    The annotation files were written by Python 2, whose ``str`` is a byte string; Python 3's
    pickler cannot write those opcodes, so loaders must be tested on bytes made this way.
    Protocol 2 writes SHORT_BINSTRING (BINSTRING past 255 bytes), big-endian BINFLOAT,
    EMPTY_DICT, and MARK ... SETITEMS in batches of 1000 (SETITEM for a one-item dict);
    protocol 0 writes ``S'..'`` lines, floats as ``%.17g`` (cPickle's choice, not repr) and one
    SETITEM per item. The memo is numbered from 1, as cPickle does.

    cPickle memoises a string only when something besides the dict being written holds it, so
    the PUT and GET opcodes depend on how the dict was built. This writes what a script gets that
    spells the label names as literals and makes each clip name once, shared by the label dicts
    (``shared_names=False``: one string per entry, as six separate reads make). Checked against
    Python 2.7.18 in tests/test_planted.py.
    """
    if protocol not in (0, 2):
        raise ValueError(f"protocol must be 0 or 2 (the ones Python 2 users wrote), not {protocol!r}")
    binary = protocol == 2
    out = bytearray(pickle.PROTO + bytes([protocol]) if binary else b"")
    numbers = itertools.count(1)
    memo: dict[str, int] = {}
    holders = Counter(name for scores in content.values() for name in scores) if shared_names else Counter()
    iteration_ref = 0 if binary else 1  # protocol 0 iterates (key, value) tuples, which hold a reference

    def put() -> int:
        index = next(numbers)
        if not binary:
            out.extend(pickle.PUT + b"%d\n" % index)
        elif index < 256:
            out.extend(pickle.BINPUT + bytes([index]))
        else:
            out.extend(pickle.LONG_BINPUT + struct.pack("<I", index))
        return index

    def get(index: int) -> None:
        if not binary:
            out.extend(pickle.GET + b"%d\n" % index)
        elif index < 256:
            out.extend(pickle.BINGET + bytes([index]))
        else:
            out.extend(pickle.LONG_BINGET + struct.pack("<I", index))

    def string(text: str, references: int) -> None:
        raw = text.encode("latin1")
        memoisable = len(raw) >= 2  # cPickle never memoises the empty and one-byte strings
        if memoisable and text in memo:
            get(memo[text])
            return
        if not binary:
            out.extend(pickle.STRING + repr(raw)[1:].encode("ascii") + b"\n")  # Python 2's repr of a str
        elif len(raw) < 256:
            out.extend(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            out.extend(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        if memoisable and references + iteration_ref >= 2:
            index = put()
            if holders[text] >= 2:
                memo[text] = index

    def number(value: float) -> None:
        if binary:
            out.extend(pickle.BINFLOAT + struct.pack(">d", value))
        else:
            out.extend(pickle.FLOAT + format(value, ".17g").encode("ascii") + b"\n")

    def label(name: str) -> None:
        string(name, 2)  # held by the outer dict and by the script that spelled it

    def clip(name: str) -> None:
        string(name, max(holders[name], 1))

    def scores(items: dict[str, float]) -> None:
        mapping(items, 1, clip, number)

    def mapping(items: dict, references: int, key, value) -> None:
        out.extend(pickle.EMPTY_DICT if binary else pickle.MARK + pickle.DICT)
        if items or references + iteration_ref >= 2:  # a non-empty dict is always memoised
            put()
        pairs = list(items.items())
        if not binary or len(pairs) == 1:
            for name, item in pairs:
                key(name)
                value(item)
                out.extend(pickle.SETITEM)
        elif pairs:
            for start in range(0, len(pairs) + 1, BATCHSIZE):  # a full last batch is followed by an empty one
                out.extend(pickle.MARK)
                for name, item in pairs[start : start + BATCHSIZE]:
                    key(name)
                    value(item)
                out.extend(pickle.SETITEMS)

    mapping(content, 2, label, scores)  # the outer dict is held by the script as well
    out.extend(pickle.STOP)
    return bytes(out)


@dataclass(frozen=True)
class Planted:
    """One planted file or label of `planted_chalearn`.

    ``clip_id`` is the id the file or label should get (None for a file that is not a clip);
    ``relpath`` is the file's path under the root, in POSIX form (None for a label without file).
    """

    kind: str
    split: str
    clip_id: str | None
    relpath: str | None


PLANTED_SECONDS = 2.0
"""How long `planted_chalearn`'s clips are (short, so a workflow run over them is quick)."""

ANNOTATIONS = {"train": "annotation_training.pkl", "val": "annotation_validation.pkl", "test": "annotation_test.pkl"}
"""The annotation pickles of the official archives, at the dataset root."""

_ID_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_DS_STORE = b"\x00\x00\x00\x01Bud1" + bytes(22)  # the start of a macOS Finder .DS_Store


def _folder_named_mp4(path: Path) -> None:
    """A folder under a clip's name (an unzip that made one per clip, or a download manager's)."""
    path.mkdir(parents=True)


def _dangling_link(path: Path) -> None:
    """A link to a clip that was moved away: the link is listed, what it names is not there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.with_name("moved away.mp4"))


def _unreadable(path: Path) -> None:
    """A normal clip with mode 000, as a copy from another user's folder leaves it (root reads it anyway)."""
    make_clip(path, seconds=PLANTED_SECONDS)
    path.chmod(0)


def _timed(make, **options):
    return partial(make, seconds=PLANTED_SECONDS, **options)


ODD_MEDIA = {
    # kind -> (split, how the file is made from its path); each is a clip a real copy can hold
    "zero_bytes": ("train", make_empty),
    "moov_missing": ("train", _timed(make_truncated)),
    "cut_mid_stream": ("train", _timed(make_cut_mid_stream)),
    "video_only": ("train", _timed(make_video_only)),
    "mp3_named_mp4": ("val", _timed(make_mp3_as_mp4)),
    "text_named_mp4": ("train", make_text_as_mp4),
    "dangling_symlink": ("train", _dangling_link),
    "unreadable_file": ("train", _unreadable),
    "silence": ("train", _timed(make_silent_clip)),
    "one_second": ("train", partial(make_clip, seconds=1.0)),
    "rate_8k": ("train", _timed(make_clip, rate=8000)),
    "rate_22k": ("train", _timed(make_clip, rate=22050)),
    "rate_48k": ("val", _timed(make_clip, rate=48000)),
    "mono": ("train", _timed(make_clip, layout="mono")),
    "surround_51": ("test", _timed(make_clip, layout="5.1")),
    "portrait": ("train", _timed(make_clip, size="48x64")),
    "odd_size": ("train", _timed(make_clip, size="321x241")),
    "variable_frame_rate": ("train", _timed(make_variable_frame_rate)),
    "one_fps": ("train", _timed(make_clip, fps=1)),
    "video_4k": ("test", _timed(make_clip, size="3840x2160", fps=1)),
}
"""The odd media of `planted_chalearn`, beyond the kinds real ChaLearn copies were seen to hold."""

ODD_NAMES = {
    "name_with_spaces": "my clip 01.001",
    "name_with_quotes": 'it\'s_"take_2".001',
    "name_unicode": "Zoë_日本語.001",
    "name_leading_dash": "-rf.001",
}
"""Clip ids (file names without .mp4) that a shell, a TSV or a command line could misread."""

BAD_LABELS = {
    # kind -> (the trait whose score is spoiled, its value; None: the clip is left out of that trait's dict)
    "label_nan": ("openness", float("nan")),
    "label_out_of_range": ("conscientiousness", 1.5),
    "label_missing": ("interview", None),
}
"""Clips whose labels in the pickle are unusable, one trait each."""


def py2_str(text: str) -> str:
    """What Python 3 reads (as latin1) from a Python 2 byte string that held `text` in UTF-8, as
    a Python 2 script that took clip names from the file system wrote them."""
    return text.encode("utf-8").decode("latin1")


def planted_chalearn(root: Path, *, seed: int = 0) -> list[Planted]:
    """A ChaLearn First Impressions V2 dataset as the official archives unpack, with one of each
    problem a real copy has (and the odd inputs of ODD_MEDIA, ODD_NAMES and BAD_LABELS), so that
    tests can check every file and label is accounted for.

    Clips lie in ``train/training80_01``, ``train/training80_02``, ``val/validation80_01`` and
    ``test/test80_01``, named ``<YouTube id>.<nnn>.mp4``; each split's labels are a Python-2
    pickle at the root (`ANNOTATIONS`), every label drawn in [0, 1) but BAD_LABELS'. Returns one
    Planted per planted file or label (both copies of a duplicate); the same seed makes the same bytes.
    """
    rng = random.Random(seed)
    used: set[str] = set()
    planted: list[Planted] = []
    encodings = []  # (maker, path), run side by side at the end: each ffmpeg call is one process
    home = {"train": "train/training80_01", "val": "val/validation80_01", "test": "test/test80_01"}
    second = "train/training80_02"

    def new_id() -> str:
        while (clip_id := f"{''.join(rng.choices(_ID_CHARACTERS, k=11))}.{rng.randrange(1000):03d}") in used:
            pass
        used.add(clip_id)
        return clip_id

    def add(kind: str, split: str, make=None, *, folder: str | None = None, clip_id: str | None = None, extension: str = ".mp4") -> str:
        clip_id = clip_id or new_id()
        relpath = f"{folder or home[split]}/{clip_id}{extension}"
        encodings.append((make or _timed(make_clip), root / relpath))
        planted.append(Planted(kind, split, clip_id, relpath))
        return clip_id

    def junk(split: str, name: str, content: bytes) -> None:
        relpath = f"{home[split]}/{name}"
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_bytes(content)
        planted.append(Planted("not_media", split, None, relpath))

    for split in home:
        for number in range(4):
            add("normal", split, folder=second if split == "train" and number % 2 else None)
    add("upper_ext", "train", folder=second, extension=".MP4")
    add("two_audio_streams", "train", _timed(make_two_audio_streams))
    add("undecodable_video", "train", _timed(make_undecodable_video))
    add("audio_only", "val", _timed(make_audio_only_mp4))
    add("undecodable_audio", "test", _timed(make_undecodable_audio))
    twice = add("duplicate_in_split", "train")
    add("duplicate_in_split", "train", folder=second, clip_id=twice)
    across = add("duplicate_across_splits", "train")
    add("duplicate_across_splits", "val", clip_id=across)
    unlabelled = add("unlabelled", "test")
    for kind, (split, make) in ODD_MEDIA.items():
        add(kind, split, make)
    for kind, clip_id in ODD_NAMES.items():
        add(kind, "train", clip_id=clip_id)
    spoiled = {add(kind, "train"): spoil for kind, spoil in BAD_LABELS.items()}
    folder = add("folder_named_mp4", "test", _folder_named_mp4)
    junk("train", "notes.txt", b"training80_01: 3000 clips, see the challenge page\n")
    junk("val", ".DS_Store", _DS_STORE)
    planted.append(Planted("label_without_file", "val", new_id(), None))
    planted = [replace(p, relpath=None) if p.clip_id == folder else p for p in planted]  # a folder is no file
    link = next(p for p in planted if p.kind == "dangling_symlink")
    planted = [replace(p, clip_id=None) if p is link else p for p in planted]  # a broken link is no clip, and unlabelled

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(lambda job: job[0](job[1]), encodings))
    for split, name in ANNOTATIONS.items():
        ids = sorted({p.clip_id for p in planted if p.split == split and p.clip_id and p.clip_id != unlabelled})
        content = {label: {py2_str(f"{clip_id}.mp4"): rng.random() for clip_id in ids} for label in LABELS}
        for clip_id, (label, value) in spoiled.items():
            if clip_id in ids and value is None:
                del content[label][py2_str(f"{clip_id}.mp4")]
            elif clip_id in ids:
                content[label][py2_str(f"{clip_id}.mp4")] = value
        (root / name).write_bytes(py2_pickle(content, protocol=2))
    return [replace(p, clip_id=p.clip_id.replace(" ", "_")) if p.kind == "name_with_spaces" else p for p in planted]  # ids name files


BAD_ANNOTATIONS = {
    # kind -> the training pickle's bytes, given the dataset root
    "pickle_runs_code": lambda root: f"cposix\nsystem\n(S'touch {root}/ran'\ntR.".encode(),  # os.system, if loaded
    "label_strings": lambda root: pickle.dumps({label: {"aaaaaaaaaaa.001.mp4": "0.5"} for label in LABELS}, protocol=2),
    "annotation_not_a_pickle": lambda root: b"<html><body><h1>403 Forbidden</h1></body></html>\n",
    "annotation_unreadable": lambda root: py2_pickle({label: {"aaaaaaaaaaa.001.mp4": 0.5} for label in LABELS}),  # and mode 000
}
"""Training pickles that no clip can be read with: the run must stop, in one line, before any job."""


def planted_bad_annotations(root: Path, kind: str) -> None:
    """A ChaLearn layout whose only problem is its training pickle (BAD_ANNOTATIONS[kind]); the
    clips are text files named .mp4, since nothing reads them before the labels."""
    for split, name in ANNOTATIONS.items():
        make_text_as_mp4(root / split / "aaaaaaaaaaa.001.mp4")
        (root / name).write_bytes(py2_pickle({label: {"aaaaaaaaaaa.001.mp4": 0.5} for label in LABELS}))
    (root / ANNOTATIONS["train"]).write_bytes(BAD_ANNOTATIONS[kind](root))
    if kind == "annotation_unreadable":
        (root / ANNOTATIONS["train"]).chmod(0)


def median_pitch(signal: np.ndarray, rate: int, *, fmin: float = 60.0, fmax: float = 600.0, frame: int = 1024, hop: int = 256) -> float:
    """Median f0 over the loud frames (the syllables), by autocorrelation in numpy: the shortest lag
    whose autocorrelation (normalised, the window's divided out) is within 10% of the best in [rate / fmax, rate / fmin].
    (librosa's YIN runs through numba, which can crash in a process that has loaded TensorFlow.)"""
    window = np.hanning(frame)
    frames = np.lib.stride_tricks.sliding_window_view(signal, frame)[::hop] * window
    taper = np.fft.irfft(np.abs(np.fft.rfft(window, n=2 * frame)) ** 2)[:frame]
    taper = taper / taper[0]  # the window's own autocorrelation, divided out (Boersma 1993)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    low, high = int(rate / fmax), int(rate / fmin)
    f0 = []
    for windowed in frames[rms > 0.5 * rms.max()]:
        spectrum = np.fft.rfft(windowed, n=2 * frame)
        correlation = np.fft.irfft(np.abs(spectrum) ** 2)[:frame]
        correlation = correlation / correlation[0] / np.maximum(taper, 1e-3)
        lags = correlation[low : high + 1]
        best = int(np.flatnonzero(lags >= 0.9 * lags.max())[0]) + low
        if 0 < best < len(correlation) - 1:  # parabolic interpolation around the peak
            a, b, c = correlation[best - 1 : best + 2]
            best = best + 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else best
        f0.append(rate / best)
    return float(np.median(f0))
