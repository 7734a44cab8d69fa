"""A synthetic dataset in the ChaLearn First Impressions V2 layout, with a known answer.

Each clip stands in for a talking head: a coloured ellipse (the "face") sways over a gray
background, and a buzzy harmonic "voice" is chopped into syllables, with a band-limited noise
burst at fixed seconds. Seven hidden factors, drawn N(0, 1) per clip, set these media properties;
the six labels are noisy linear functions of the factors. So a model can learn them, and
`ground_truth.json` says how well predicting the training mean does (the baseline) and how well
the best possible predictor does (the ceiling), per split and label.

Everything follows from the seed. `plan` draws each clip's id, factors and labels from a random
stream of its own (seed, split, kind, index), so growing a split renames no clip; the media are
encoded with bit-exact flags, so two runs write byte-identical files.
"""

from __future__ import annotations

import colorsys
import json
import pickle
import re
import string
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import soundfile as sf

from impressions import LABELS, TRAITS, __version__
from impressions.atomic import atomic_path, write_json

SPLIT_FOLDERS = {"train": "train", "val": "val", "test": "test"}
"""Split -> folder of its mp4s, relative to the dataset root."""

ANNOTATION_FILES = {"train": "annotation_training.pkl", "val": "annotation_validation.pkl", "test": "annotation_test.pkl"}
"""Split -> its annotation pickle, relative to the dataset root (the ChaLearn names)."""

GROUND_TRUTH = "ground_truth.json"
"""The generative model and the baseline/ceiling per split; its presence marks a root as synthetic."""

PARAM_KEYS = ("seed", "n_clips", "duration_s", "n_short", "n_silent", "width", "height", "fps", "signal_r2")
"""Keys of `params` (the `synthetic` section of config.yaml; other keys there are ignored)."""

AUDIO_RATE = 44100
LABEL_MEAN = 0.5
LABEL_SD = 0.15
SHORT_RANGE_S = (2.5, 4.5)
HIDDEN_BAND = {"trait": "neuroticism", "low_hz": 1800.0, "high_hz": 2600.0, "start_s": 1.0, "end_s": 4.0}
"""Where `band_energy` lives: a noise burst in a fixed band at fixed seconds, heard by no other factor."""

VOICE_MAX_HZ = 1600.0  # voice harmonics stay below the hidden band, so it carries band_energy only
SWAY_HZ = 0.5
PIXEL_NOISE = 4  # per-frame noise of +-4 levels, so the video is not trivially compressible
_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_CLIP_FILE = re.compile(r"^[A-Za-z0-9_-]{11}\.\d{3}\.mp4$")

FACTORS = {
    "pitch": {"modality": "audio", "media": "voice f0 = 120 * 2**(0.35 z), 1% vibrato", "unit": "Hz"},
    "loudness": {"modality": "audio", "media": "voice RMS level = clip(-30 + 4 z, -46, -18)", "unit": "dBFS"},
    "syllable_rate": {"modality": "audio", "media": "syllable bursts per second = max(1.5, 4 + 0.8 z)", "unit": "Hz"},
    "band_energy": {
        "modality": "audio",
        "media": "RMS level of the hidden-band noise burst = clip(-40 + 6 z, -60, -22)",
        "unit": "dBFS",
    },
    "brightness": {"modality": "video", "media": "background gray level = clip(110 + 30 z, 0, 255)", "unit": "8-bit level"},
    "hue": {"modality": "video", "media": "face hue = clip(150 + 40 z, 20, 280)", "unit": "degrees"},
    "motion": {"modality": "video", "media": "face sway amplitude at 0.5 Hz = max(0, 10 + 6 z)", "unit": "pixels"},
}
"""The hidden factors, each N(0, 1) per clip, and the media property each one sets."""

FACTOR_NAMES = tuple(FACTORS)

TRAIT_WEIGHTS = {
    "extraversion": {"loudness": 1.0, "syllable_rate": 1.0, "motion": 1.0},
    "neuroticism": {"pitch": 1.0, "band_energy": 1.0},
    "agreeableness": {"brightness": 1.0, "hue": 1.0},
    "conscientiousness": {"syllable_rate": 1.0, "brightness": 1.0},
    "openness": {"pitch": 1.0, "motion": 1.0, "hue": 1.0},
}
"""Factor weights per trait: neuroticism is audio-only, agreeableness video-only, the rest mixed."""


@dataclass(frozen=True)
class ClipPlan:
    """Everything about one clip that is known before its media exist.

    Attributes
    ----------
    clip_id : "<11-char YouTube-like id>.<3 digits>", unique in the dataset
    split : "train", "val" or "test"
    relpath : "<split folder>/<clip_id>.mp4", relative to the dataset root
    duration_s : length of the clip (a whole number of frames)
    has_audio : False for the silent extras, which have no audio stream at all
    factors : the hidden factors, N(0, 1), keyed by `FACTOR_NAMES`
    kind : "regular", "short" (2.5-4.5 s) or "silent" (no audio stream)
    labels : the scores in [0, 1], keyed by `LABELS`
    media_seed : seed of the clip's pixel and audio noise
    """

    clip_id: str
    split: str
    relpath: str
    duration_s: float
    has_audio: bool
    factors: dict[str, float]
    kind: str
    labels: dict[str, float]
    media_seed: int


def plan(params: dict) -> list[ClipPlan]:
    """List every clip with its factors and labels, without making any media.

    Cheap enough to run while Snakemake builds its DAG. Clips come by split (train, val, test):
    the regular ones, then the short extras (alternately train and test, the first in train), then
    the silent extras (train).

    Parameters
    ----------
    params : the `synthetic` section of config.yaml (keys `PARAM_KEYS`)

    Returns
    -------
    list[ClipPlan]
    """
    _check_params(params)
    clips = [_plan_clip(params, split, key, kind) for split, key, kind in _clip_specs(params)]
    ids = [clip.clip_id for clip in clips]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two synthetic clips drew the same id with seed={params['seed']}; choose another seed")
    return clips


def output_files(params: dict) -> list[str]:
    """Paths, relative to the dataset root, of every file `generate` writes."""
    return [clip.relpath for clip in plan(params)] + list(ANNOTATION_FILES.values()) + [GROUND_TRUTH]


def generate(root: str | Path, params: dict, *, threads: int = 1, log: Callable[[str], object] = print) -> None:
    """Write the whole dataset under `root`: mp4s per split, annotation pickles, ground_truth.json.

    `root` must be new, hold no files, or hold an earlier synthetic dataset (which is replaced,
    its clips that are no longer planned removed). ground_truth.json is written first: it marks
    the folder as synthetic, so a run that dies half-way may be rerun over it.

    Parameters
    ----------
    root : folder of the dataset (created)
    params : the `synthetic` section of config.yaml
    threads : clips encoded at the same time
    log : receives one progress line per clip

    Raises
    ------
    ValueError : if `root` holds files but no ground_truth.json (it could be real data)
    """
    root = Path(root)
    clips = plan(params)
    _claim(root)
    write_json(root / GROUND_TRUTH, ground_truth(clips, params))
    _remove_stale_clips(root, clips, log)
    for split, name in ANNOTATION_FILES.items():
        _write_annotations(root / name, [clip for clip in clips if clip.split == split])
    log(f"synthetic dataset: encoding {len(clips)} clips into {root} with {threads} threads")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(_write_clip, root / clip.relpath, clip, params): clip for clip in clips}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                future.result()
                clip = futures[future]
                log(f"[{done}/{len(clips)}] {clip.relpath} {clip.duration_s:.1f} s")
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def media_values(factors: Mapping[str, float]) -> dict[str, float]:
    """The media property each factor sets, in the units of `FACTORS`."""
    z = factors
    return {
        "pitch": 120.0 * 2.0 ** (0.35 * z["pitch"]),
        "loudness": float(np.clip(-30.0 + 4.0 * z["loudness"], -46.0, -18.0)),
        "syllable_rate": max(1.5, 4.0 + 0.8 * z["syllable_rate"]),
        "band_energy": float(np.clip(-40.0 + 6.0 * z["band_energy"], -60.0, -22.0)),
        "brightness": float(np.clip(110.0 + 30.0 * z["brightness"], 0.0, 255.0)),
        "hue": float(np.clip(150.0 + 40.0 * z["hue"], 20.0, 280.0)),
        "motion": max(0.0, 10.0 + 6.0 * z["motion"]),
    }


def loadings() -> dict[str, dict[str, float]]:
    """Unit-norm factor weights per label, so that every latent l = w . z has unit variance.

    The interview latent is the mean of the five trait latents, rescaled to unit variance.
    """
    weights = np.array([[TRAIT_WEIGHTS[t].get(f, 0.0) for f in FACTOR_NAMES] for t in TRAITS])
    weights /= np.linalg.norm(weights, axis=1, keepdims=True)
    interview = weights.sum(axis=0)
    rows = np.vstack([weights, interview / np.linalg.norm(interview)])
    return {label: dict(zip(FACTOR_NAMES, map(float, row))) for label, row in zip(LABELS, rows)}


_LOADINGS = loadings()


def scores(factors: Mapping[str, float], signal_r2: float, noise: Mapping[str, float] | None = None) -> dict[str, float]:
    """Labels of one clip: clip(0.5 + 0.15 (sqrt(r2) l + sqrt(1 - r2) eps), 0, 1) per label.

    Parameters
    ----------
    factors : the clip's hidden factors
    signal_r2 : share of a label's variance that the factors explain
    noise : eps ~ N(0, 1) per label; None gives the Bayes predictor (eps = 0), the best any
        model that sees the media can do

    Returns
    -------
    dict: label -> score in [0, 1], for every label of `LABELS`
    """
    result = {}
    for label, weights in _LOADINGS.items():
        latent = sum(w * factors[f] for f, w in weights.items())
        eps = 0.0 if noise is None else noise[label]
        value = LABEL_MEAN + LABEL_SD * (np.sqrt(signal_r2) * latent + np.sqrt(1.0 - signal_r2) * eps)
        result[label] = float(np.clip(value, 0.0, 1.0))
    return result


def read_ground_truth(paths: Sequence[str | Path]) -> dict | None:
    """The ground_truth.json among a rule's inputs (a list of one for synthetic data, else empty)."""
    if not paths:
        return None
    with open(paths[0]) as handle:
        return json.load(handle)


def bayes_predictions(truth: Mapping) -> dict[str, dict[str, float]]:
    """The Bayes predictor's scores of every clip of a ground_truth.json: the ceiling's predictions."""
    return {clip_id: scores(clip["factors"], truth["model"]["signal_r2"]) for clip_id, clip in truth["clips"].items()}


def reference_metrics(clips: list[ClipPlan], signal_r2: float) -> dict[str, dict[str, dict[str, float]]]:
    """The baseline and ceiling 1-MAE per split and label, the yardsticks for any model.

    The baseline predicts the train split's mean score; the ceiling is the Bayes predictor
    (`scores` without noise) against the noisy labels. "mean" averages the five traits. Every
    clip of a split counts, the short and silent extras included.

    Returns
    -------
    dict: {split: {label | "mean": {"baseline_1mae", "ceiling_1mae"}}}
    """
    train_mean = {label: np.mean([c.labels[label] for c in clips if c.split == "train"]) for label in LABELS}
    result = {}
    for split in SPLIT_FOLDERS:
        members = [c for c in clips if c.split == split]
        truth = np.array([[c.labels[label] for label in LABELS] for c in members])
        bayes = np.array([list(scores(c.factors, signal_r2).values()) for c in members])
        baseline = 1.0 - np.abs(truth - np.array([train_mean[label] for label in LABELS])).mean(axis=0)
        ceiling = 1.0 - np.abs(truth - bayes).mean(axis=0)
        metrics = {label: {"baseline_1mae": float(b), "ceiling_1mae": float(c)} for label, b, c in zip(LABELS, baseline, ceiling)}
        metrics["mean"] = {key: float(np.mean([metrics[t][key] for t in TRAITS])) for key in ("baseline_1mae", "ceiling_1mae")}
        result[split] = metrics
    return result


def ground_truth(clips: list[ClipPlan], params: dict) -> dict:
    """The content of ground_truth.json: the generative model, the yardsticks and every clip's factors."""
    r2 = params["signal_r2"]
    model = {
        "factors": FACTORS,
        "factor_distribution": "N(0, 1), independent, drawn per clip",
        "trait_weights": TRAIT_WEIGHTS,
        "unit_loadings": _LOADINGS,
        "latent": "l = (w . z) / ||w||, unit variance; interview: the mean of the five trait latents, rescaled to unit variance",
        "score": "clip(0.5 + 0.15 * (sqrt(signal_r2) * l + sqrt(1 - signal_r2) * eps), 0, 1), eps ~ N(0, 1) per clip and label",
        "bayes_predictor": "clip(0.5 + 0.15 * sqrt(signal_r2) * l, 0, 1)",
        "signal_r2": r2,
        "label_mean": LABEL_MEAN,
        "label_sd": LABEL_SD,
        "hidden_band": HIDDEN_BAND,
        "media": f"H.264 {params['width']}x{params['height']} at {params['fps']} fps; AAC {AUDIO_RATE} Hz stereo",
    }
    per_clip = {
        c.clip_id: {
            "split": c.split,
            "relpath": c.relpath,
            "duration_s": c.duration_s,
            "has_audio": c.has_audio,
            "kind": c.kind,
            "factors": c.factors,
            "media": media_values(c.factors),
        }
        for c in clips
    }
    content = {
        "generator": f"impressions.synth {__version__}",
        "seed": params["seed"],
        "params": {key: params[key] for key in PARAM_KEYS},
        "model": model,
        "splits": reference_metrics(clips, r2),
        "clips_per_split": {split: sum(c.split == split for c in clips) for split in SPLIT_FOLDERS},
        "short_clips": [c.clip_id for c in clips if c.kind == "short"],
        "silent_clips": [c.clip_id for c in clips if c.kind == "silent"],
        "clips": per_clip,
    }
    return _rounded(content)


# --- planning ---------------------------------------------------------------------------------


def _check_params(params: Mapping) -> None:
    """Validate `params` at the boundary, saying which value is wrong and what is allowed."""
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"synthetic params lack {missing}; they need {list(PARAM_KEYS)}")
    problems = []
    n_clips = params["n_clips"]
    if not isinstance(n_clips, Mapping) or sorted(n_clips) != sorted(SPLIT_FOLDERS) or not all(_is_int(v, 1) for v in n_clips.values()):
        problems.append(f"n_clips={n_clips!r} must map each of {list(SPLIT_FOLDERS)} to an integer >= 1")
    for key, low in (("seed", 0), ("n_short", 0), ("n_silent", 0), ("fps", 1)):
        if not _is_int(params[key], low):
            problems.append(f"{key}={params[key]!r} must be an integer >= {low}")
    for key in ("width", "height"):
        if not _is_int(params[key], 16) or params[key] % 2:
            problems.append(f"{key}={params[key]!r} must be an even integer >= 16 (H.264 4:2:0 needs even sizes)")
    if not isinstance(params["duration_s"], (int, float)) or params["duration_s"] <= 0:
        problems.append(f"duration_s={params['duration_s']!r} must be a number > 0")
    if not isinstance(params["signal_r2"], (int, float)) or not 0.0 <= params["signal_r2"] <= 1.0:
        problems.append(f"signal_r2={params['signal_r2']!r} must be a number in [0, 1]")
    if problems:
        raise ValueError("invalid synthetic params: " + "; ".join(problems))


def _is_int(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _clip_specs(params: Mapping) -> list[tuple[str, tuple[int, int, int], str]]:
    """(split, random-stream key, kind) of every clip; the key (split index, kind, index) never moves."""
    short_splits = ["train" if k % 2 == 0 else "test" for k in range(params["n_short"])]
    specs = []
    for split_index, split in enumerate(SPLIT_FOLDERS):
        specs += [(split, (split_index, 0, i), "regular") for i in range(params["n_clips"][split])]
        specs += [(split, (split_index, 1, k), "short") for k, where in enumerate(short_splits) if where == split]
        if split == "train":
            specs += [(split, (split_index, 2, k), "silent") for k in range(params["n_silent"])]
    return specs


def _plan_clip(params: Mapping, split: str, key: tuple[int, int, int], kind: str) -> ClipPlan:
    """Draw one clip from its own stream, always in the same order: id, factors, noise, seeds, length."""
    rng = np.random.default_rng([params["seed"], *key])
    clip_id = "".join(_ID_ALPHABET[i] for i in rng.integers(0, len(_ID_ALPHABET), size=11))
    clip_id += f".{rng.integers(0, 10):03d}"
    factors = dict(zip(FACTOR_NAMES, map(float, rng.standard_normal(len(FACTOR_NAMES)))))
    noise = dict(zip(LABELS, map(float, rng.standard_normal(len(LABELS)))))
    media_seed = int(rng.integers(2**63))
    seconds = rng.uniform(*SHORT_RANGE_S) if kind == "short" else params["duration_s"]
    n_frames = max(1, round(seconds * params["fps"]))
    return ClipPlan(
        clip_id=clip_id,
        split=split,
        relpath=f"{SPLIT_FOLDERS[split]}/{clip_id}.mp4",
        duration_s=n_frames / params["fps"],
        has_audio=kind != "silent",
        factors=factors,
        kind=kind,
        labels=scores(factors, params["signal_r2"], noise),
        media_seed=media_seed,
    )


def _rounded(obj: object) -> object:
    """`obj` with every float rounded to 6 decimals (stable, readable JSON)."""
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, Mapping):
        return {key: _rounded(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(value) for value in obj]
    return obj


# --- files ------------------------------------------------------------------------------------


def _claim(root: Path) -> None:
    """Make `root`, refusing a folder with files that is not an earlier synthetic dataset."""
    if root.is_dir() and not (root / GROUND_TRUTH).is_file() and _holds_files(root):
        raise ValueError(
            f"{root} holds files but no {GROUND_TRUTH}, so it may be real data; the synthetic "
            "generator writes only into a new or empty folder or over an earlier synthetic dataset. "
            "Point it at another folder, or empty this one yourself."
        )
    root.mkdir(parents=True, exist_ok=True)


def _holds_files(root: Path) -> bool:
    """True when any file lies under `root` (empty folders, such as Snakemake makes, do not count)."""
    return any(not path.is_dir() for path in root.rglob("*"))


def _remove_stale_clips(root: Path, clips: list[ClipPlan], log: Callable[[str], object]) -> None:
    """Delete the clips of an earlier synthetic dataset that the current plan no longer has."""
    planned = {clip.relpath for clip in clips}
    for folder in SPLIT_FOLDERS.values():
        for path in sorted((root / folder).glob("*.mp4")):
            relpath = f"{folder}/{path.name}"
            if _CLIP_FILE.match(path.name) and relpath not in planned:
                log(f"removing {relpath}: no longer in the synthetic plan")
                path.unlink()


def _write_annotations(path: Path, clips: list[ClipPlan]) -> None:
    """Pickle {label: {"<clip_id>.mp4": score}} with protocol 2, as ChaLearn's Python 2 files are."""
    table = {label: {f"{c.clip_id}.mp4": float(c.labels[label]) for c in clips} for label in LABELS}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(table, f, protocol=2)


def _write_clip(path: Path, clip: ClipPlan, params: Mapping) -> None:
    """Render and encode one clip to `path` (atomically)."""
    with tempfile.TemporaryDirectory(prefix="synth-") as scratch, atomic_path(path) as tmp:
        wav = None
        if clip.has_audio:
            wav = Path(scratch) / "audio.wav"
            sf.write(wav, _audio(clip), AUDIO_RATE, subtype="FLOAT")
        _encode(_frames(clip, params["width"], params["height"], params["fps"]), wav, tmp, params)


# --- media ------------------------------------------------------------------------------------


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
    background = 10 ** (-60 / 20) * rng.standard_normal((len(t), 2))
    stereo = np.stack([mono, 10 ** (-0.5 / 20) * mono], axis=1) + background
    return np.clip(stereo, -1.0, 1.0).astype(np.float32)


def _voice(t: np.ndarray, media: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Harmonics of f0 (with vibrato and slow jitter) under a syllable envelope, at the clip's RMS level."""
    n_knots = int(t[-1] / 0.1) + 2
    jitter = np.interp(t, 0.1 * np.arange(n_knots), np.clip(rng.standard_normal(n_knots), -2, 2))
    f0 = media["pitch"] * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 2 * np.pi)) + 0.005 * jitter)
    phase = 2 * np.pi * np.cumsum(f0) / AUDIO_RATE
    n_harmonics = max(1, min(12, int(VOICE_MAX_HZ / (1.03 * media["pitch"]))))
    wave = sum(k**-1.2 * np.sin(k * phase) for k in range(1, n_harmonics + 1))
    envelope = np.sin(np.pi * media["syllable_rate"] * t + rng.uniform(0, np.pi)) ** 4
    voice = wave * envelope
    return voice * 10 ** (media["loudness"] / 20) / np.sqrt(np.mean(voice**2))


def _band_burst(t: np.ndarray, level_db: float, rng: np.random.Generator) -> np.ndarray:
    """Noise confined to the hidden band, at `level_db` RMS between its start and end (20 ms ramps)."""
    spectrum = np.fft.rfft(rng.standard_normal(len(t)))
    freqs = np.fft.rfftfreq(len(t), 1 / AUDIO_RATE)
    spectrum[(freqs < HIDDEN_BAND["low_hz"]) | (freqs > HIDDEN_BAND["high_hz"])] = 0
    band = np.fft.irfft(spectrum, n=len(t))
    band *= 10 ** (level_db / 20) / np.sqrt(np.mean(band**2))
    ramp = 0.02
    rise = np.clip((t - HIDDEN_BAND["start_s"]) / ramp, 0, 1) * np.clip((HIDDEN_BAND["end_s"] - t) / ramp, 0, 1)
    return band * (0.5 - 0.5 * np.cos(np.pi * rise))


def _frames(clip: ClipPlan, width: int, height: int, fps: int, chunk: int = 32) -> Iterator[np.ndarray]:
    """The clip's video, a chunk of frames at a time, so long clips never sit in memory whole.

    Yields
    ------
    np.ndarray [shape=(<= chunk, height, width, 3), dtype=uint8], RGB
    """
    rng = np.random.default_rng([clip.media_seed, 1])
    media = media_values(clip.factors)
    face = np.rint(255 * np.array(colorsys.hsv_to_rgb(media["hue"] / 360, 0.6, 0.85))).astype(np.int16)
    rows = ((np.arange(height) - height / 2) / (0.32 * height)) ** 2
    columns = np.arange(width)
    n_frames = round(clip.duration_s * fps)
    for first in range(0, n_frames, chunk):
        t = np.arange(first, min(n_frames, first + chunk)) / fps
        centre = width / 2 + media["motion"] * np.sin(2 * np.pi * SWAY_HZ * t)
        across = ((columns - centre[:, None]) / (0.12 * width)) ** 2
        inside = across[:, None, :] + rows[None, :, None] <= 1
        frames = np.full((len(t), height, width, 3), round(media["brightness"]), dtype=np.int16)
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
