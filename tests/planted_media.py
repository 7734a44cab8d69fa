"""Small media files with planted problems, made by ffmpeg (and by editing the ISO-BMFF boxes it
writes), so that no binary file lives in git: the clips of tests/planted.py and of the stage tests."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

BITEXACT = ["-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1"]
"""Keep version strings out of the files, so the same call makes the same bytes."""

H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
TWO_STREAM_TONES = (300.0, 2000.0)
"""The tones of `make_two_audio_streams`' first and second audio streams."""


def _ffmpeg(path: Path, *args: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, *BITEXACT, str(path)], check=True)


def _video(seconds: float, size: str = "64x48", fps: float = 10) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}"]


def _voice(hz: float, seconds: float, rate: int = 44100, layout: str = "stereo") -> list[str]:
    """A tone plus a little seeded noise, stereo at 44.1 kHz as the real clips are, so that
    decode_wav downmixes and resamples, and no spectrum bin is exactly zero."""
    timing = f"sample_rate={rate}:duration={seconds}"
    graph = f"sine=frequency={hz}:{timing}[tone];anoisesrc=amplitude=0.02:seed=1:{timing}[noise];"
    graph += f"[tone][noise]amix=inputs=2:normalize=0,aformat=channel_layouts={layout}[out0]"
    return ["-f", "lavfi", "-i", graph]


def make_clip(
    path: Path, *, seconds: float = 6.0, tone_hz: float = 440.0, size: str = "64x48", fps: float = 10, rate: int = 44100, layout: str = "stereo"
) -> None:
    """A normal clip: an mp4 with H.264 video (64x48, 10 fps) and AAC audio (44.1 kHz stereo);
    the other sizes, frame and sample rates and channel layouts are for the corpus of odd inputs.
    An odd size takes 4:4:4 chroma, which x264 encodes where 4:2:0 needs even sides."""
    odd = any(int(side) % 2 for side in size.split("x"))
    video = [*H264[:-1], "yuv444p"] if odd else H264
    _ffmpeg(path, *_video(seconds, size, fps), *_voice(tone_hz, seconds, rate, layout), *video, "-c:a", "aac", "-shortest")


def make_silent_clip(path: Path, *, seconds: float = 6.0) -> None:
    """A normal clip whose audio is digital silence: every sample zero."""
    _ffmpeg(
        path, *_video(seconds), "-f", "lavfi", "-i", f"anullsrc=sample_rate=44100:channel_layout=stereo:duration={seconds}", *H264, "-c:a", "aac", "-shortest"
    )


def make_variable_frame_rate(path: Path, *, seconds: float = 6.0) -> None:
    """A clip whose frames come at uneven times (three at 30 fps, then a gap), as phones record."""
    keep = ["-vf", "select='lt(mod(n,10),3)'", "-fps_mode", "vfr"]
    _ffmpeg(path, *_video(seconds, fps=30), *_voice(440.0, seconds), *keep, *H264, "-c:a", "aac", "-shortest")


def make_video_only(path: Path, *, seconds: float = 6.0) -> None:
    """An mp4 holding only an H.264 video stream, as a screen recording without a microphone."""
    _ffmpeg(path, *_video(seconds), *H264)


def make_mp3_as_mp4(path: Path, *, seconds: float = 6.0) -> None:
    """An mp3 file under a clip's name: ffmpeg goes by the content, not the name."""
    _ffmpeg(path, *_voice(440.0, seconds), "-c:a", "libmp3lame", "-f", "mp3")


def make_cut_mid_stream(path: Path, *, seconds: float = 6.0) -> None:
    """A clip whose index ('moov') comes first (``+faststart``, as web uploads are) cut off halfway
    through its media data: ffprobe reads the full length from the index, the second half is gone."""
    _ffmpeg(path, *_video(seconds), *_voice(440.0, seconds), *H264, "-c:a", "aac", "-shortest", "-movflags", "+faststart")
    _cut_halfway_through_the_data(path, index_first=True)


def make_empty(path: Path) -> None:
    """A file of zero bytes, as a download that never started leaves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def make_audio_only_mp4(path: Path, *, seconds: float = 6.0, tone_hz: float = 440.0) -> None:
    """An mp4 holding only an AAC audio stream (usable by the audio models, not the video ones)."""
    _ffmpeg(path, *_voice(tone_hz, seconds), "-c:a", "aac")


def make_two_audio_streams(path: Path, *, seconds: float = 6.0) -> None:
    """An mp4 with one video stream and two audio streams of different tones (TWO_STREAM_TONES),
    to tell which stream a stage used."""
    first, second = TWO_STREAM_TONES
    streams = ["-map", "0:v", "-map", "1:a", "-map", "2:a"]
    _ffmpeg(path, *_video(seconds), *_voice(first, seconds), *_voice(second, seconds), *streams, *H264, "-c:a", "aac", "-shortest")


UNKNOWN_FOURCC = b"xxxx"
"""A sample entry type no codec has: what a file written with a codec this ffmpeg lacks looks like."""


def _boxes(data: bytes, start: int, end: int):
    """(type, start, end) of each ISO-BMFF box in data[start:end] (ffmpeg writes 32-bit sizes here)."""
    while start < end:
        size, kind = struct.unpack_from(">I4s", data, start)
        assert size >= 8, f"box {kind!r} at {start} has a 64-bit or open size"
        yield kind, start, start + size
        start += size


def _child(data: bytes, box: tuple[int, int], kind: bytes, header: int = 8) -> tuple[int, int]:
    return next((start, end) for found, start, end in _boxes(data, box[0] + header, box[1]) if found == kind)


def _sample_entry(data: bytes, handler: bytes) -> tuple[int, int]:
    """Where the first sample entry of the track with `handler` (b"soun", b"vide") lies."""
    moov = _child(data, (0, len(data)), b"moov", header=0)
    for kind, start, end in _boxes(data, moov[0] + 8, moov[1]):
        mdia = _child(data, (start, end), b"mdia") if kind == b"trak" else None
        hdlr = _child(data, mdia, b"hdlr")[0] if mdia else 0
        if mdia and data[hdlr + 16 : hdlr + 20] == handler:  # after size, type, version, flags, pre_defined
            stsd = _child(data, _child(data, _child(data, mdia, b"minf"), b"stbl"), b"stsd")
            return next((s, e) for _, s, e in _boxes(data, stsd[0] + 16, stsd[1]))  # after version, flags, count
    raise AssertionError(f"no {handler!r} track in the encoded mp4")


def _rename(data: bytearray, box: tuple[int, int]) -> None:
    data[box[0] + 4 : box[0] + 8] = UNKNOWN_FOURCC


def make_undecodable_audio(path: Path, *, seconds: float = 6.0) -> None:
    """A clip that ffprobe reads (a video and an audio stream, each with its duration) but whose
    audio no decoder takes: the audio sample entry ('mp4a') is renamed to an unknown fourcc, and
    so is its 'esds' child, from which ffmpeg would otherwise still learn the codec."""
    make_clip(path, seconds=seconds)
    data = bytearray(path.read_bytes())
    entry = _sample_entry(data, b"soun")
    _rename(data, _child(data, entry, b"esds", header=36))  # children follow the 28-byte sound description
    _rename(data, entry)
    path.write_bytes(data)


def make_undecodable_video(path: Path, *, seconds: float = 6.0) -> None:
    """A clip that ffprobe reads and whose audio decodes, but whose video no decoder takes (the
    'avc1' sample entry renamed to an unknown fourcc)."""
    make_clip(path, seconds=seconds)
    data = bytearray(path.read_bytes())
    _rename(data, _sample_entry(data, b"vide"))
    path.write_bytes(data)


def make_truncated(path: Path, *, seconds: float = 6.0) -> None:
    """A clip cut off halfway through its media data, as an interrupted download leaves it: ffmpeg
    writes the index ('moov') after the data, so none is left and ffprobe cannot read the file."""
    make_clip(path, seconds=seconds)
    _cut_halfway_through_the_data(path, index_first=False)


def _cut_halfway_through_the_data(path: Path, *, index_first: bool) -> None:
    """Cut a clip off halfway through its media data ('mdat'), once sure the index lies where the maker means."""
    data = path.read_bytes()
    boxes = {kind: (start, end) for kind, start, end in _boxes(data, 0, len(data))}
    assert (boxes[b"moov"][1] <= boxes[b"mdat"][0]) == index_first, f"the encoder wrote the index {'last' if index_first else 'first'}"
    path.write_bytes(data[: (boxes[b"mdat"][0] + boxes[b"mdat"][1]) // 2])


def make_text_as_mp4(path: Path) -> None:
    """A text file under a clip's name, as a download that saved the server's error page leaves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<html><body><h1>403 Forbidden</h1></body></html>\n")
