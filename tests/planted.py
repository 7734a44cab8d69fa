"""Test fixtures made by code: Python-2 annotation pickles written opcode by opcode, media files with
planted problems, and a ChaLearn-layout dataset holding one of each (no binary files in git)."""

from __future__ import annotations

import random
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from impressions import LABELS

# The opcodes Python 2's cPickle writes for a dict of str -> dict of str -> float.
PROTO, STOP, MARK, EMPTY_DICT, SETITEMS, SETITEM = b"\x80", b".", b"(", b"}", b"u", b"s"
SHORT_BINSTRING, BINSTRING, BINFLOAT, BINPUT, LONG_BINPUT = b"U", b"T", b"G", b"q", b"r"


def py2_pickle(content: dict[str, dict[str, float]], protocol: int = 2) -> bytes:
    """What Python 2's ``cPickle.dump(content, f, protocol)`` writes, for protocols 0 and 2.

    Python 2's ``str`` is a byte string: protocol 2 writes it as SHORT_BINSTRING (or BINSTRING
    past 255 bytes) and floats as big-endian BINFLOAT; protocol 0 writes ``S'...'`` and
    ``F<repr>`` lines. Every container and string is memoised, as the pickler does.
    """
    if protocol not in (0, 2):
        raise ValueError("protocol 0 or 2")
    out, memo = bytearray(), [0]

    def put() -> None:
        index = memo[0]
        memo[0] += 1
        if protocol == 0:
            out.extend(b"p%d\n" % index)
        else:
            out.extend(BINPUT + bytes([index]) if index < 256 else LONG_BINPUT + struct.pack("<I", index))

    def string(text: str) -> None:
        raw = text.encode("latin1")
        if protocol == 0:
            out.extend(b"S'" + raw.replace(b"\\", b"\\\\").replace(b"'", b"\\'") + b"'\n")
        elif len(raw) < 256:
            out.extend(SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            out.extend(BINSTRING + struct.pack("<i", len(raw)) + raw)
        put()

    def number(value: float) -> None:
        out.extend(b"F" + repr(float(value)).encode() + b"\n" if protocol == 0 else BINFLOAT + struct.pack(">d", value))

    def mapping(items: dict, write_value) -> None:
        if protocol == 0:
            out.extend(b"(d")
            put()
            for key, value in items.items():
                string(key)
                write_value(value)
                out.extend(SETITEM)
            return
        out.extend(EMPTY_DICT)
        put()
        pairs = list(items.items())
        for start in range(0, len(pairs), 1000):  # cPickle's batch size
            batch = pairs[start : start + 1000]
            if len(batch) > 1:
                out.extend(MARK)
            for key, value in batch:
                string(key)
                write_value(value)
            out.extend(SETITEMS if len(batch) > 1 else SETITEM)

    if protocol == 2:
        out.extend(PROTO + b"\x02")
    mapping(content, lambda scores: mapping(scores, number))
    out.extend(STOP)
    return bytes(out)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _video(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}"]


def _tone(hz: float, seconds: float, rate: int = 16000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate={rate}:duration={seconds}"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def make_clip(path: Path, *, seconds: float = 6.0, tone_hz: float = 440.0) -> None:
    """A normal mp4: H.264 video and AAC audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(*_video(seconds), *_tone(tone_hz, seconds), *H264, "-c:a", "aac", "-shortest", str(path))


def make_audio_only_mp4(path: Path, *, seconds: float = 6.0, tone_hz: float = 440.0) -> None:
    """An mp4 holding only an AAC audio stream."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(*_tone(tone_hz, seconds), "-c:a", "aac", str(path))


TWO_STREAM_TONES = (300.0, 2000.0)
"""The tones of `make_two_audio_streams`' first and second audio streams."""


def make_two_audio_streams(path: Path, *, seconds: float = 6.0) -> None:
    """An mp4 with one video stream and two audio streams of different tones (TWO_STREAM_TONES)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    first, second = TWO_STREAM_TONES
    streams = ["-map", "0:v", "-map", "1:a", "-map", "2:a"]
    _ffmpeg(*_video(seconds), *_tone(first, seconds), *_tone(second, seconds), *streams, *H264, "-c:a", "aac", "-shortest", str(path))


def _patched(path: Path, seconds: float, replacements: dict[bytes, bytes]) -> None:
    make_clip(path, seconds=seconds)
    data = path.read_bytes()
    for old, new in replacements.items():
        assert old in data, f"{old!r} not in the encoded mp4"
        data = data.replace(old, new)
    path.write_bytes(data)


def make_undecodable_audio(path: Path, *, seconds: float = 6.0) -> None:
    """An mp4 that ffprobe reads (video and an audio stream with its duration) but whose audio no
    decoder takes: the audio sample entry ('mp4a') and its decoder config ('esds') are renamed,
    as a file written by a tool with an unknown codec would be."""
    _patched(path, seconds, {b"mp4a": b"xxxx", b"esds": b"xxxx"})


def make_undecodable_video(path: Path, *, seconds: float = 6.0) -> None:
    """An mp4 whose audio decodes but whose video no decoder takes (the 'avc1' sample entry renamed)."""
    _patched(path, seconds, {b"avc1": b"xxxx"})


@dataclass(frozen=True)
class Planted:
    """One planted file or label: what kind of problem, where, and the id it should get."""

    kind: str
    split: str
    clip_id: str | None
    relpath: str | None


def planted_chalearn(root: Path, seed: int = 0) -> list[Planted]:
    """A ChaLearn First Impressions V2 dataset as the archives unpack (nested folders, Python-2
    pickles), with one of each planted problem; returns one Planted per planted file or label."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    new_id = lambda: f"{''.join(rng.choices(alphabet, k=11))}.{rng.randrange(1000):03d}"  # noqa: E731
    folders = {"train": "train/training80_01", "val": "val/validation80_01", "test": "test/test80_01"}
    planted: list[Planted] = []

    def add(kind, split, make=make_clip, folder=None, clip_id=None, extension=".mp4"):
        clip_id = clip_id or new_id()
        relpath = f"{folder or folders[split]}/{clip_id}{extension}"
        make(root / relpath, seconds=3.0)
        planted.append(Planted(kind, split, clip_id, relpath))
        return clip_id

    for split in folders:
        for _ in range(3):
            add("normal", split)
    add("normal", "train", folder="train/training80_02")
    add("upper_ext", "train", folder="train/training80_02", extension=".MP4")
    add("two_audio_streams", "train", make=make_two_audio_streams)
    add("audio_only", "val", make=make_audio_only_mp4)
    add("undecodable_audio", "test", make=make_undecodable_audio)
    add("undecodable_video", "train", make=make_undecodable_video)
    twice = add("duplicate_in_split", "train")
    add("duplicate_in_split", "train", folder="train/training80_02", clip_id=twice)
    across = add("duplicate_across_splits", "train")
    add("duplicate_across_splits", "val", clip_id=across)
    unlabelled = add("unlabelled", "test")
    for split, name in (("train", "notes.txt"), ("val", ".DS_Store")):
        (root / folders[split] / name).write_bytes(b"not a clip")
        planted.append(Planted("not_media", split, None, f"{folders[split]}/{name}"))
    missing = new_id()
    planted.append(Planted("label_without_file", "val", missing, None))

    names = {"train": "annotation_training.pkl", "val": "annotation_validation.pkl", "test": "annotation_test.pkl"}
    for split, name in names.items():
        ids = sorted({p.clip_id for p in planted if p.split == split and p.clip_id and p.clip_id != unlabelled})
        content = {label: {f"{clip_id}.mp4": round(rng.random(), 6) for clip_id in ids} for label in LABELS}
        (root / name).write_bytes(py2_pickle(content, protocol=2))
    return planted
