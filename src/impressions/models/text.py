"""The text-only model: a regularised linear model on the TF-IDF text features."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline


def text_linear(*, C: float = 1.0, classification: bool = False) -> Pipeline:
    """Logistic regression (classification; multinomial, L2 with inverse strength `C`) or ridge
    regression (alpha = 1 / C) on one clip's TF-IDF vector. TF-IDF rows are already L2-normalised,
    so no scaler; class weights come as sample weights from training."""
    if classification:
        return make_pipeline(LogisticRegression(C=C, max_iter=2000))
    return make_pipeline(Ridge(alpha=1.0 / C))
