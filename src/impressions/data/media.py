"""Reading media with ffmpeg: probing clips, decoding audio to wav, sampling video frames."""

from __future__ import annotations

import errno
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import ffmpeg
import numpy as np
import pandas as pd
import soundfile

from impressions.data.clips import DECODE_FAILURES
from impressions.io.atomic import atomic_path
from impressions.io.errors import InputError
from impressions.io.runlog import says_disk_full

BITEXACT = {"fflags": "+bitexact", "map_metadata": -1}
"""Output options that keep ffmpeg from writing version strings or times into files."""


VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".m4a", ".ogg")
"""File extensions (lower case) that the table kind takes for clips; anything ffmpeg reads works."""


class MediaError(InputError):
    """ffmpeg could not read a clip; the message says which clip and what ffmpeg said."""


@dataclass(frozen=True)
class Probe:
    """What ffprobe tells about one clip (the manifest's media columns)."""

    duration_s: float
    audio_duration_s: float
    has_audio: bool
    has_video: bool
    audio_streams: int
    audio_rate: int
    audio_channels: int
    fps: float
    width: int
    height: int
    size_bytes: int

    def as_row(self) -> dict:
        return asdict(self)


def _ffmpeg_message(error: ffmpeg.Error) -> str:
    lines = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "ffmpeg failed without a message"


def probe(path: str | os.PathLike) -> Probe:
    """Probe a clip's container and streams.

    Raises
    ------
    MediaError
        When ffprobe cannot read the file (corrupt, empty, not a media file).
    """
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as error:
        raise MediaError(f"{path}: {_ffmpeg_message(error)}") from None
    streams = info.get("streams", [])
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    audio = audios[0] if audios else None  # decode_wav takes the first, as ffmpeg's default mapping does
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    duration = float(info.get("format", {}).get("duration", 0.0) or 0.0)
    fps = float(Fraction(video["avg_frame_rate"])) if video and video.get("avg_frame_rate", "0/0") != "0/0" else 0.0
    return Probe(
        duration_s=duration,
        audio_duration_s=float(audio.get("duration", duration)) if audio else 0.0,
        has_audio=audio is not None,
        has_video=video is not None,
        audio_streams=len(audios),
        audio_rate=int(audio.get("sample_rate", 0)) if audio else 0,
        audio_channels=int(audio.get("channels", 0)) if audio else 0,
        fps=fps,
        width=int(video.get("width", 0)) if video else 0,
        height=int(video.get("height", 0)) if video else 0,
        size_bytes=Path(path).stat().st_size,
    )


def decode_wav(source: str | os.PathLike, target: str | os.PathLike, *, sample_rate: int = 16000) -> None:
    """Decode a clip's first audio stream to mono 16-bit PCM wav at `sample_rate`.

    ffmpeg downmixes to mono first, then resamples (swresample), which is what the VGGish
    reference expects of its input.
    """
    first_audio = ffmpeg.input(str(source))["a:0"]
    stream = first_audio.output(str(target), ac=1, ar=sample_rate, acodec="pcm_s16le", format="wav", **BITEXACT, **{"flags:a": "+bitexact"})
    try:
        _, stderr = stream.overwrite_output().run(quiet=True)
    except ffmpeg.Error as error:
        _raise_if_not_written(target, error.stderr)
        raise MediaError(f"{source}: {_ffmpeg_message(error)}") from None
    _raise_if_not_written(target, stderr)


def _raise_if_not_written(target: str | os.PathLike, stderr: bytes | None) -> None:
    """Raise OSError when ffmpeg could not write `target`: the disk's fault, not the clip's, so no exclusion.

    ffmpeg exits with 0 when only the wav's trailer or the file's close fails, as on a full disk.
    """
    text = (stderr or b"").decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if str(target) in line and line.startswith(("Error writing", "Error closing"))]
    if says_disk_full(text):
        raise OSError(errno.ENOSPC, f"ffmpeg could not write {target}: No space left on device")
    if lines:
        raise OSError(errno.EIO, f"ffmpeg could not write {target}: {lines[-1]}")


def decode_shard(
    clips: dict[str, str],
    folder: str | os.PathLike,
    *,
    sample_rate: int = 16000,
    min_duration_s: float = 0.0,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> None:
    """Decode each clip (clip id -> media path) to ``<folder>/<clip id>.wav``, several at a time.

    A clip that ffmpeg cannot decode gets no wav; it is listed with ffmpeg's message in
    ``<folder>/failed.tsv`` (`DECODE_FAILURES`) and the shard goes on. So is one whose decoded
    audio is shorter than `min_duration_s`: a file cut off after its index claims the full length
    to ffprobe, and ffmpeg decodes what is left without an error. The folder appears only once
    every clip is done.
    """
    failed: dict[str, str] = {}
    with atomic_path(folder) as tmp:
        tmp.mkdir()

        def decode(item: tuple[int, tuple[str, str]]) -> None:
            number, (clip_id, path) = item
            try:
                decode_wav(path, tmp / f"{clip_id}.wav", sample_rate=sample_rate)
                _check_decoded_length(path, tmp / f"{clip_id}.wav", min_duration_s)
            except MediaError as error:
                (tmp / f"{clip_id}.wav").unlink(missing_ok=True)
                failed[clip_id] = f"audio could not be decoded: {error}"
                log(f"[{number}/{len(clips)}] {clip_id}: FAILED, {failed[clip_id]}")
                return
            log(f"[{number}/{len(clips)}] {clip_id}.wav")

        with ThreadPoolExecutor(max(1, threads)) as pool:
            list(pool.map(decode, enumerate(clips.items(), start=1)))
        rows = sorted(failed.items())
        pd.DataFrame(rows, columns=["clip_id", "reason"]).to_csv(tmp / DECODE_FAILURES, sep="\t", index=False)


def _check_decoded_length(source: str | os.PathLike, wav: Path, min_duration_s: float) -> None:
    seconds = soundfile.info(str(wav)).duration
    if seconds < min_duration_s:
        raise MediaError(f"{source}: only {seconds:.2f} s of audio decoded, < {min_duration_s:g} s (the file is cut short)")


def sample_frames(path: str | os.PathLike, *, duration_s: float, count: int = 6, height: int = 140, width: int = 248, fps: float = 0.0) -> np.ndarray:
    """Take `count` frames spread evenly over a clip, resized to height x width.

    Frames are taken at the centres of `count` equal slices of the clip, each with an exact seek,
    so the choice does not depend on the clip's frame rate: all in one ffmpeg run (one input per
    seek, a frame of each, joined), since starting ffmpeg cost more than decoding. A centre past
    the last frame's time (a container can outlast its video by a fraction of a frame) takes the
    last frame: such a clip (one run gives fewer frames) is read a frame at a time, and with the
    clip's `fps` the seek steps back one frame at a time, up to three. Either way a frame is the
    same pixels.

    Returns
    -------
    np.ndarray [shape=(count, height, width, 3), dtype=uint8]
        RGB frames.
    """
    centres = [(i + 0.5) * duration_s / count for i in range(count)]
    frames = _frames_at(path, centres, height=height, width=width)
    if frames is not None:
        return frames
    frames = np.empty((count, height, width, 3), dtype=np.uint8)
    for i, at in enumerate(centres):
        frames[i] = _frame_at(path, at, height=height, width=width, fps=fps)
    return frames


def _frames_at(path: str | os.PathLike, centres: list[float], *, height: int, width: int) -> np.ndarray | None:
    """The frame at each of `centres` in one ffmpeg run; None when it gives fewer frames or fails."""
    frames = [
        ffmpeg.input(str(path), ss=f"{at:.3f}", threads=1).video.trim(end_frame=1).filter("scale", width, height, flags="bicubic").filter("format", "rgb24")
        for at in centres
    ]
    joined = ffmpeg.concat(*frames, v=1, a=0).output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
    try:
        raw, _ = joined.run(capture_stdout=True, quiet=True)
    except ffmpeg.Error:
        return None
    if len(raw) != len(centres) * height * width * 3:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(centres), height, width, 3)


def _frame_at(path: str | os.PathLike, at: float, *, height: int, width: int, fps: float) -> np.ndarray:
    for back in range(4 if fps > 0 else 1):
        seek = max(0.0, at - back / fps) if back else at
        stream = (
            ffmpeg.input(str(path), ss=f"{seek:.3f}")
            .video.filter("scale", width, height, flags="bicubic")
            .output("pipe:", vframes=1, format="rawvideo", pix_fmt="rgb24")
        )
        try:
            raw, _ = stream.run(capture_stdout=True, quiet=True)
        except ffmpeg.Error as error:
            raise MediaError(f"{path}: {_ffmpeg_message(error)}") from None
        if len(raw) == height * width * 3:
            return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
    raise MediaError(f"{path}: no frame at {at:.2f} s (got {len(raw)} bytes)")


def frames_by_time(path: str | os.PathLike, centres: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """The frame nearest in time to each of `centres` (seconds from the clip's start), resized.

    One ffmpeg run decodes every frame in presentation order (each frame once, so a long clip
    costs one decode, not a seek per step) and reports each frame's presentation time (the
    ``showinfo`` filter), so variable frame rates are placed right.

    Returns
    -------
    np.ndarray [shape=(len(centres), height, width, 3), dtype=uint8], RGB
    """
    try:
        raw, report = (
            ffmpeg.input(str(path), threads=1)
            .video.filter("showinfo")
            .filter("scale", width, height, flags="bicubic")
            .output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .run(capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as error:
        raise MediaError(f"{path}: {_ffmpeg_message(error)}") from None
    times = np.array([float(t) for t in _SHOWINFO_TIME.findall(report.decode("utf-8", "replace"))])
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)
    if not len(frames) or len(frames) != len(times):
        raise MediaError(f"{path}: {len(frames)} frames decoded, {len(times)} frame times reported")
    return frames[nearest_frames(times, np.asarray(centres, dtype=np.float64))]


_SHOWINFO_TIME = re.compile(r"Parsed_showinfo.*? pts_time:\s*(-?[0-9.]+)")


def nearest_frames(frame_times: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """For each of `centres`, the index of the frame whose time is nearest (the earlier one on a tie).

    Parameters
    ----------
    frame_times : (n_frames,) increasing presentation times in seconds, n_frames >= 1
    centres : (n,) times to take a frame at
    """
    frame_times = np.asarray(frame_times, dtype=np.float64)
    after = np.clip(np.searchsorted(frame_times, centres, side="left"), 0, len(frame_times) - 1)
    before = np.clip(after - 1, 0, len(frame_times) - 1)
    earlier = np.abs(centres - frame_times[before]) <= np.abs(frame_times[after] - centres)
    return np.where(earlier, before, after)
