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

import pickle
import re
import string
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from impressions import LABELS, TRAITS, __version__
from impressions.data.ground_truth import (
    FACTOR_NAMES,
    FACTORS,
    GROUND_TRUTH,
    HIDDEN_BAND,
    LABEL_MEAN,
    LABEL_SD,
    TRAIT_WEIGHTS,
    UNIT_LOADINGS,
    media_values,
    scores,
)
from impressions.data.synthetic_media import AUDIO_RATE, render_clip
from impressions.io.atomic import atomic_path, write_json

SPLIT_FOLDERS = {"train": "train", "val": "val", "test": "test"}
"""Split -> folder of its mp4s, relative to the dataset root."""

ANNOTATION_FILES = {"train": "annotation_training.pkl", "val": "annotation_validation.pkl", "test": "annotation_test.pkl"}
"""Split -> its annotation pickle, relative to the dataset root (the ChaLearn names)."""

DATASET = {"kind": "chalearn", "splits": {split: {"videos": SPLIT_FOLDERS[split], "annotations": ANNOTATION_FILES[split]} for split in SPLIT_FOLDERS}}
"""The `dataset` settings the chalearn adapter reads the generated files with."""

PARAM_KEYS = ("seed", "n_clips", "duration_s", "n_short", "n_silent", "width", "height", "fps", "signal_r2")
"""Keys of `params` (the `synthetic` section of config.yaml; other keys there are ignored)."""

SHORT_RANGE_S = (2.5, 4.5)
_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_CLIP_FILE = re.compile(r"^[A-Za-z0-9_-]{11}\.\d{3}\.mp4$")


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
    _render_all(clips, lambda clip: render_clip(root / clip.relpath, clip, params), threads=threads, log=log)


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
        "unit_loadings": UNIT_LOADINGS,
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
        "generator": f"impressions.data.synthetic {__version__}",
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


def _remove_stale_clips(
    root: Path, clips: list, log: Callable[[str], object], *, folders: Iterable[str] = tuple(SPLIT_FOLDERS.values()), pattern: re.Pattern = _CLIP_FILE
) -> None:
    """Delete the clips of an earlier synthetic dataset that the current plan no longer has.

    Only files in `folders` whose name matches `pattern` (the generator's own naming) are
    candidates, so nothing a user put beside them is ever removed; `clips` need only `.relpath`.
    """
    planned = {clip.relpath for clip in clips}
    for folder in folders:
        for path in sorted((root / folder).glob("*")):
            relpath = f"{folder}/{path.name}"
            if path.is_file() and pattern.match(path.name) and relpath not in planned:
                log(f"removing {relpath}: no longer in the synthetic plan")
                path.unlink()


def _render_all(clips: list, render: Callable[[object], object], *, threads: int, log: Callable[[str], object]) -> None:
    """Run `render(clip)` for every clip on `threads` threads, one progress line each as it finishes.

    The first failure cancels the clips not yet started and is raised. Each clip needs `.relpath`
    and `.duration_s` (for the progress line).
    """
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(render, clip): clip for clip in clips}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                future.result()
                clip = futures[future]
                log(f"[{done}/{len(clips)}] {clip.relpath} {clip.duration_s:.1f} s")
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _write_annotations(path: Path, clips: list[ClipPlan]) -> None:
    """Pickle {label: {"<clip_id>.mp4": score}} with protocol 2, as ChaLearn's Python 2 files are."""
    table = {label: {f"{c.clip_id}.mp4": float(c.labels[label]) for c in clips} for label in LABELS}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(table, f, protocol=2)
