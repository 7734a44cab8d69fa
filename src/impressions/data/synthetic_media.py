"""The media of a synthetic clip: its "voice" and hidden-band burst, its swaying "face", encoded.

Everything follows from the clip's plan (`impressions.data.synthetic.ClipPlan`); ffmpeg encodes
with bit-exact flags, so two renderings of one plan are byte-identical files. The emotion
datasets (`synthetic_meld`, `synthetic_table`) render with the same voice, face and encoder, and
share the class-conditional draw of their hidden values and its Bayes classifier (at the end).
"""

from __future__ import annotations

import colorsys
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

import numpy as np
import soundfile as sf

from impressions.data.ground_truth import HIDDEN_BAND, media_values
from impressions.io.atomic import atomic_path

if TYPE_CHECKING:
    from impressions.data.synthetic import ClipPlan

AUDIO_RATE = 44100
VOICE_MAX_HZ = 1600.0  # voice harmonics stay below the hidden band, so it carries band_energy only
SWAY_HZ = 0.5
PIXEL_NOISE = 4  # per-frame noise of +-4 levels, so the video is not trivially compressible


def render_clip(path: Path, clip: ClipPlan, params: Mapping) -> None:
    """Render and encode one clip to `path` (atomically)."""
    with tempfile.TemporaryDirectory(prefix="synth-") as scratch, atomic_path(path) as tmp:
        wav = None
        if clip.has_audio:
            wav = Path(scratch) / "audio.wav"
            sf.write(wav, _audio(clip), AUDIO_RATE, subtype="FLOAT")
        media = media_values(clip.factors)
        frames = face_frames(
            round(clip.duration_s * params["fps"]),
            fps=params["fps"],
            width=params["width"],
            height=params["height"],
            brightness=media["brightness"],
            hue=media["hue"],
            motion=media["motion"],
            rng=np.random.default_rng([clip.media_seed, 1]),
        )
        _encode(frames, wav, tmp, params)


def _audio(clip: ClipPlan) -> np.ndarray:
    """The clip's sound: voice + hidden-band burst + background noise.

    Returns
    -------
    np.ndarray [shape=(n_samples, 2), dtype=float32] at `AUDIO_RATE`; the right channel is the
    left one 0.5 dB quieter, with its own background noise, so the two are never identical.
    """
    rng = np.random.default_rng([clip.media_seed, 0])
    media = media_values(clip.factors)
    t = np.arange(round(clip.duration_s * AUDIO_RATE)) / AUDIO_RATE
    mono = _voice(t, media, rng) + _band_burst(t, media["band_energy"], rng)
    return over_background(mono, rng, channels=2)


def over_background(mono: np.ndarray, rng: np.random.Generator, *, channels: int) -> np.ndarray:
    """`mono` over -60 dBFS background noise, in `channels` channels (1 or 2).

    Returns
    -------
    np.ndarray [shape=(n_samples, channels), dtype=float32]; a second channel is the first 0.5 dB
    quieter, with its own background noise, so the two are never identical.
    """
    background = 10 ** (-60 / 20) * rng.standard_normal((len(mono), channels))
    gains = np.array([1.0, 10 ** (-0.5 / 20)])[:channels]
    return np.clip(mono[:, None] * gains + background, -1.0, 1.0).astype(np.float32)


def _voice(
    t: np.ndarray, media: Mapping[str, float], rng: np.random.Generator, *, tilt: float = 1.2, words: np.ndarray | None = None, change: np.ndarray | None = None
) -> np.ndarray:
    """Harmonics of f0 (with vibrato and slow jitter) under a syllable envelope, at the clip's RMS level.

    Harmonic k has amplitude k**-tilt: a smaller `tilt` is a brighter, "tenser" voice. With
    `words` (an envelope in [0, 1] over `t`, 0 between words) the voice speaks only inside them,
    its syllables a gentler ripple that never falls silent within a word; with `change` (a window
    in [0, 1] over `t`) its pitch rises by half and its level by 6 dB inside that window.
    """
    n_knots = int(t[-1] / 0.1) + 2
    jitter = np.interp(t, 0.1 * np.arange(n_knots), np.clip(rng.standard_normal(n_knots), -2, 2))
    f0 = media["pitch"] * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 2 * np.pi)) + 0.005 * jitter)
    if change is not None:
        f0 = f0 * (1 + 0.5 * change)
    phase = 2 * np.pi * np.cumsum(f0) / AUDIO_RATE
    n_harmonics = max(1, min(12, int(VOICE_MAX_HZ / (1.03 * media["pitch"]))))
    wave = sum(k**-tilt * np.sin(k * phase) for k in range(1, n_harmonics + 1))
    syllables = np.sin(np.pi * media["syllable_rate"] * t + rng.uniform(0, np.pi))
    envelope = syllables**4 if words is None else words * (0.6 + 0.4 * syllables**2)
    if change is not None:
        envelope = envelope * (1 + (10 ** (6 / 20) - 1) * change)
    voice = wave * envelope
    return voice * 10 ** (media["loudness"] / 20) / np.sqrt(np.mean(voice**2))


def window(t: np.ndarray, start: float, end: float, *, ramp: float = 0.02) -> np.ndarray:
    """1 between `start` and `end`, 0 outside, with raised-cosine ramps of `ramp` seconds inside them."""
    rise = np.clip((t - start) / ramp, 0, 1) * np.clip((end - t) / ramp, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * rise)


def _band_burst(t: np.ndarray, level_db: float, rng: np.random.Generator) -> np.ndarray:
    """Noise confined to the hidden band, at `level_db` RMS between its start and end (20 ms ramps)."""
    spectrum = np.fft.rfft(rng.standard_normal(len(t)))
    freqs = np.fft.rfftfreq(len(t), 1 / AUDIO_RATE)
    spectrum[(freqs < HIDDEN_BAND["low_hz"]) | (freqs > HIDDEN_BAND["high_hz"])] = 0
    band = np.fft.irfft(spectrum, n=len(t))
    band *= 10 ** (level_db / 20) / np.sqrt(np.mean(band**2))
    return band * window(t, HIDDEN_BAND["start_s"], HIDDEN_BAND["end_s"])


def face_frames(
    n_frames: int, *, fps: int, width: int, height: int, brightness: float, hue: float, motion: float, rng: np.random.Generator, chunk: int = 32
) -> Iterator[np.ndarray]:
    """A face-coloured ellipse swaying at `SWAY_HZ` over gray, a chunk of frames at a time, so long clips never sit in memory whole.

    Parameters
    ----------
    brightness : background gray level (8-bit)
    hue : face hue in degrees, in [0, 360)
    motion : sway amplitude in pixels
    rng : the per-frame pixel noise

    Yields
    ------
    np.ndarray [shape=(<= chunk, height, width, 3), dtype=uint8], RGB
    """
    face = np.rint(255 * np.array(colorsys.hsv_to_rgb(hue / 360, 0.6, 0.85))).astype(np.int16)
    rows = ((np.arange(height) - height / 2) / (0.32 * height)) ** 2
    columns = np.arange(width)
    for first in range(0, n_frames, chunk):
        t = np.arange(first, min(n_frames, first + chunk)) / fps
        centre = width / 2 + motion * np.sin(2 * np.pi * SWAY_HZ * t)
        across = ((columns - centre[:, None]) / (0.12 * width)) ** 2
        inside = across[:, None, :] + rows[None, :, None] <= 1
        frames = np.full((len(t), height, width, 3), round(brightness), dtype=np.int16)
        frames[inside] = face
        frames += rng.integers(-PIXEL_NOISE, PIXEL_NOISE + 1, size=frames.shape, dtype=np.int16)
        yield np.clip(frames, 0, 255).astype(np.uint8)


def _encode(frames: Iterator[np.ndarray], wav: Path | None, out: Path, params: Mapping) -> None:
    """Pipe RGB frames (and the wav, if any) through ffmpeg into a bit-exact H.264/AAC mp4."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{params['width']}x{params['height']}"]
    cmd += ["-framerate", str(params["fps"]), "-i", "pipe:0"]
    if wav is not None:
        cmd += ["-i", str(wav), "-map", "0:v", "-map", "1:a"]
        cmd += ["-c:a", "aac", "-b:a", "96k", "-ar", str(AUDIO_RATE), "-ac", "2", "-flags:a", "+bitexact"]
    # One encoder thread: x264's output then depends on nothing but its input (clips run in parallel).
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1", "-flags:v", "+bitexact"]
    cmd += ["-fflags", "+bitexact", "-map_metadata", "-1", "-f", "mp4", str(out)]
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for chunk in frames:
            process.stdin.write(chunk.tobytes())
    except BrokenPipeError:
        pass  # ffmpeg stopped early; its message is read below
    finally:
        process.stdin.close()
    error = process.stderr.read().decode(errors="replace")
    if process.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {out}: {error.strip()}")


# --- class-conditional media values: what the emotion datasets (MELD layout, audio table) share ---


def draw_values(rule: Mapping[str, Mapping], label: str, rng: np.random.Generator) -> dict[str, float]:
    """One clip's hidden media values around its class's means, drawn in the order of `rule`.

    `rule` maps each value's name to {"scale": "log" or "linear", "sd": s, "mean": {class: m}}:
    a log value is m * exp(s z), a linear one m + s z, with z ~ N(0, 1) per clip and value.
    """
    values = {}
    for name, spec in rule.items():
        z = rng.standard_normal()
        mean = spec["mean"][label]
        values[name] = float(mean * np.exp(spec["sd"] * z) if spec["scale"] == "log" else mean + spec["sd"] * z)
    return values


def log_likelihoods(rule: Mapping[str, Mapping], values: Mapping[str, float], classes: Iterable[str]) -> dict[str, float]:
    """log p(values | class) under `rule` (see `draw_values`) for each of `classes`, up to a term the same for all."""
    result = {}
    for label in classes:
        total = 0.0
        for name, spec in rule.items():
            x, mean = (np.log(values[name]), np.log(spec["mean"][label])) if spec["scale"] == "log" else (values[name], spec["mean"][label])
            total -= 0.5 * ((x - mean) / spec["sd"]) ** 2
        result[label] = float(total)
    return result


def class_scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    """Accuracy and support-weighted F1 (MELD's headline metric) of class predictions."""
    from sklearn.metrics import accuracy_score, f1_score  # here, not at the top: the DAG's parse imports the generators

    return {"accuracy": float(accuracy_score(truth, predicted)), "weighted_f1": float(f1_score(truth, predicted, average="weighted", zero_division=0))}
