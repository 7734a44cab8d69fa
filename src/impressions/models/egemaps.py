"""The eGeMAPS baseline: a regularised linear model on the 88 functionals, scaler in the pipeline."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def egemaps_linear(*, alpha: float = 100.0, C: float = 1.0, classification: bool = False) -> Pipeline:
    """StandardScaler + ridge regression (penalty `alpha`; one target per trait) or multinomial
    logistic regression (L2, inverse strength `C`). The functionals range over orders of magnitude
    (Hz, dB, ratios), so they are standardised with the training split's statistics; class weights
    come as sample weights from training."""
    if classification:
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    return make_pipeline(StandardScaler(), Ridge(alpha=alpha))
