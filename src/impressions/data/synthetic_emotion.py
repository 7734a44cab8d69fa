"""What the embedded emotion examples share: the emotions' voices and faces, and writing the media.

Each emotion sets a voice (pitch, syllable rate, loudness) and, in video, a face hue; every clip
draws its own values around its emotion's, so the classes overlap but can be learned. The
generators (`synthetic_meld`, `synthetic_table`) write `VOICES` and the noise into
ground_truth.json, so a Bayes classifier can be computed from it.
"""

from __future__ import annotations

import colorsys
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import soundfile as sf

from impressions.data.synthetic_media import AUDIO_RATE, _encode, _voice
from impressions.io.atomic import atomic_path

VOICES = {
    "neutral": {"pitch": 140.0, "syllable_rate": 3.0, "loudness": -24.0, "hue": 210.0},
    "joy": {"pitch": 230.0, "syllable_rate": 4.5, "loudness": -18.0, "hue": 50.0},
    "surprise": {"pitch": 280.0, "syllable_rate": 3.5, "loudness": -16.0, "hue": 300.0},
    "anger": {"pitch": 190.0, "syllable_rate": 5.5, "loudness": -12.0, "hue": 0.0},
    "sadness": {"pitch": 110.0, "syllable_rate": 2.0, "loudness": -30.0, "hue": 240.0},
    "disgust": {"pitch": 120.0, "syllable_rate": 2.5, "loudness": -20.0, "hue": 100.0},
    "fear": {"pitch": 260.0, "syllable_rate": 6.0, "loudness": -26.0, "hue": 270.0},
}
"""Emotion -> the mean voice (f0 in Hz, syllables per second, RMS in dBFS) and face hue (degrees)."""

NOISE = {"pitch": 0.08, "syllable_rate": 0.12, "loudness": 2.0, "hue": 12.0}
"""Per-clip spread around the emotion's values: pitch and syllable rate log-normal (sd of the log),
loudness and hue normal (sd in dB and degrees)."""


def draw_voice(emotion: str, rng: np.random.Generator) -> dict[str, float]:
    """One clip's voice and face values around its emotion's."""
    mean = VOICES[emotion]
    return {
        "pitch": float(mean["pitch"] * np.exp(NOISE["pitch"] * rng.standard_normal())),
        "syllable_rate": float(mean["syllable_rate"] * np.exp(NOISE["syllable_rate"] * rng.standard_normal())),
        "loudness": float(mean["loudness"] + NOISE["loudness"] * rng.standard_normal()),
        "hue": float((mean["hue"] + NOISE["hue"] * rng.standard_normal()) % 360),
    }


def audio(duration_s: float, voice: Mapping[str, float], seed: int) -> np.ndarray:
    """The clip's voice over quiet noise, mono float32 at `AUDIO_RATE`."""
    rng = np.random.default_rng([seed, 0])
    t = np.arange(round(duration_s * AUDIO_RATE)) / AUDIO_RATE
    sound = _voice(t, voice, rng) + 10 ** (-60 / 20) * rng.standard_normal(len(t))
    return np.clip(sound, -1.0, 1.0).astype(np.float32)


def _faces(duration_s: float, hue: float, seed: int, params: Mapping) -> Iterator[np.ndarray]:
    """A face-coloured ellipse on gray with pixel noise, a chunk of frames at a time."""
    rng = np.random.default_rng([seed, 1])
    width, height, fps = params["width"], params["height"], params["fps"]
    face = np.rint(255 * np.array(colorsys.hsv_to_rgb(hue / 360, 0.6, 0.85))).astype(np.int16)
    ys, xs = np.mgrid[0:height, 0:width]
    inside = ((xs - width / 2) / (0.2 * width)) ** 2 + ((ys - height / 2) / (0.35 * height)) ** 2 <= 1
    n_frames = round(duration_s * fps)
    for first in range(0, n_frames, 32):
        frames = np.full((min(32, n_frames - first), height, width, 3), 110, dtype=np.int16)
        frames[:, inside] = face
        frames += rng.integers(-4, 5, size=frames.shape, dtype=np.int16)
        yield np.clip(frames, 0, 255).astype(np.uint8)


def write_video(path: Path, duration_s: float, voice: Mapping[str, float], seed: int, params: Mapping) -> None:
    """A bit-exact H.264/AAC mp4 of the face and the voice (atomically)."""
    with tempfile.TemporaryDirectory(prefix="synth-") as scratch, atomic_path(path) as tmp:
        wav = Path(scratch) / "audio.wav"
        sound = audio(duration_s, voice, seed)
        sf.write(wav, np.stack([sound, sound], axis=1), AUDIO_RATE, subtype="FLOAT")
        _encode(_faces(duration_s, voice["hue"], seed, params), wav, tmp, params)


def write_audio(path: Path, duration_s: float, voice: Mapping[str, float], seed: int, *, sample_rate: int, channels: int) -> None:
    """A bit-exact wav (16-bit PCM) or mp3 of the voice at `sample_rate` with `channels` (atomically)."""
    codec = ["-c:a", "pcm_s16le"] if path.suffix == ".wav" else ["-c:a", "libmp3lame", "-b:a", "128k"]
    with tempfile.TemporaryDirectory(prefix="synth-") as scratch, atomic_path(path) as tmp:
        wav = Path(scratch) / "audio.wav"
        sf.write(wav, audio(duration_s, voice, seed), AUDIO_RATE, subtype="FLOAT")
        command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), "-ar", str(sample_rate), "-ac", str(channels), *codec]
        command += ["-flags:a", "+bitexact", "-fflags", "+bitexact", "-map_metadata", "-1", "-f", path.suffix[1:], str(tmp)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"ffmpeg failed writing {path}: {result.stderr.strip()}")
