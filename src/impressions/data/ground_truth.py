"""The synthetic datasets' generative model: what ground_truth.json holds and the Bayes predictor.

Kept apart from the generator (`impressions.data.synthetic`) so that evaluation, the CAM stage
and the summary read the known answer without importing the clip renderer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from impressions import LABELS, TRAITS

GROUND_TRUTH = "ground_truth.json"
"""The generative model and the baseline/ceiling per split; its presence marks a root as synthetic."""

LABEL_MEAN = 0.5
LABEL_SD = 0.15
HIDDEN_BAND = {"trait": "neuroticism", "low_hz": 1800.0, "high_hz": 2600.0, "start_s": 1.0, "end_s": 4.0}
"""Where `band_energy` lives: a noise burst in a fixed band at fixed seconds, heard by no other factor."""


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


UNIT_LOADINGS = loadings()
"""Label -> unit-norm factor weights (what `scores` uses)."""


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
    for label, weights in UNIT_LOADINGS.items():
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


def bayes_posteriors(truth: Mapping, target: str) -> pd.DataFrame | None:
    """The Bayes classifier's class probabilities of every clip of a classification generator's
    ground_truth.json (kinds meld and table), for one target; None when it holds none for `target`.

    The meld generator keys its ``clips`` by clip id, the table generator its ``files`` by path
    with the clip id inside; both store each clip's ``posterior`` as {target: {class: p}}
    (meld: emotion and sentiment; table: emotion), as `bayes_posterior` of the generator gave it.

    Returns
    -------
    pd.DataFrame [index=clip_id, columns=the generator's classes] or None
    """
    if "clips" in truth:
        entries = truth["clips"].items()
    elif "files" in truth:
        entries = ((entry["clip_id"], entry) for entry in truth["files"].values())
    else:
        raise ValueError("ground_truth.json has neither 'clips' (meld) nor 'files' (table): not a classification generator's")
    rows = {}
    for clip_id, entry in entries:
        posterior = entry.get("posterior", {}).get(target)
        if posterior is None:
            return None
        rows[clip_id] = posterior
    return pd.DataFrame.from_dict(rows, orient="index")
