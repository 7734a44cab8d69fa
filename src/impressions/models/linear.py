"""Linear models on per-clip functionals: eGeMAPS, the frames' colour and motion, and both with text."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

ALPHAS = (0.1, 0.316, 1.0, 3.16, 10.0, 31.6, 100.0, 316.0, 1000.0, 3160.0, 10000.0)
"""Ridge penalties tried by default (config's `alphas`): 0.1 to 10,000 in half decades."""


def functionals_linear(*, alphas: tuple[float, ...] = ALPHAS, clip_sd: float = 4.0, C: float = 1.0, classification: bool = False) -> Pipeline:
    """StandardScaler, clipping at `clip_sd` standard deviations, then ridge regression (one
    penalty per trait, chosen among `alphas` by leave-one-out on the training clips) or multinomial
    logistic regression (L2, inverse strength `C`; class weights come as sample weights).

    The functionals range over orders of magnitude (Hz, dB, ratios, shares of 255), hence the
    scaler, which also puts every block of a concatenation (audio, video, TF-IDF text) on one
    footing; a few eGeMAPS ratios to a mean near zero (``mfcc3_sma3_stddevNorm``) and a rare
    word's TF-IDF column take values many standard deviations out on a clip or two, hence the
    clipping, without which one such clip dominates the fit and the predictions of the clips
    like it.
    """
    clip = FunctionTransformer(np.clip, kw_args={"a_min": -clip_sd, "a_max": clip_sd})
    if classification:
        return make_pipeline(StandardScaler(), clip, LogisticRegression(C=C, max_iter=2000))
    return make_pipeline(StandardScaler(), clip, RidgeCV(alphas=alphas, alpha_per_target=True))
