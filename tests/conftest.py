"""Shared fixtures: small real media files made with ffmpeg's test sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

import opensmile  # noqa: F401 - before any test imports TensorFlow: loaded after it, openSMILE's native library crashes the process
import pytest


def make_clip(path: Path, *, seconds: float = 6.0, audio: bool = True, tone_hz: float = 440.0) -> Path:
    """Encode a small H.264/AAC mp4 from ffmpeg's test sources (44.1 kHz stereo audio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=10:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=44100:duration={seconds}", "-ac", "2", "-c:a", "aac"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(command, check=True)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """A folder with a normal clip, a short one, one without audio and a corrupt file."""
    folder = tmp_path_factory.mktemp("media")
    make_clip(folder / "normal_clip.001.mp4", seconds=6.0)
    make_clip(folder / "short__clip.002.mp4", seconds=3.0)
    make_clip(folder / "silent_clip.003.mp4", seconds=6.0, audio=False)
    (folder / "broken_clip.004.mp4").write_bytes(b"this is not an mp4 file")
    return folder


@pytest.fixture(scope="session")
def served_run(tmp_path_factory):
    """A finished run in miniature (`served_run.build`): the web page's tests serve its models."""
    from served_run import build  # imports TensorFlow: only in the sessions that need it, after openSMILE

    return build(tmp_path_factory.mktemp("served"))
