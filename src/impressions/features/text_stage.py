"""Text features of the utterances (MELD's transcripts): TF-IDF of word and character n-grams.

The vocabulary and the inverse document frequencies are fitted on the training split only, so
that no word of validation or test shapes the features; then each shard's clips are
transformed and written, like the other cache families (one fitting job, then a job per shard). No downloaded weights.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from impressions.io.atomic import atomic_path
from impressions.io.cache import write_cache


def vectorizer(*, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (2, 5), max_features: int = 5000, min_df: int = 1) -> FeatureUnion:
    """Word n-grams and character n-grams (within word boundaries), each TF-IDF with sublinear
    term frequency and L2-normalised rows; `max_features` of each, the most frequent in training."""
    common = {"lowercase": True, "sublinear_tf": True, "min_df": min_df, "max_features": max_features, "dtype": np.float32}
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer="word", ngram_range=tuple(word_ngrams), token_pattern=r"(?u)\b\w[\w']*\b", **common)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams), **common)),
        ]
    )


def texts(rows: pd.DataFrame, column: str = "text") -> list[str]:
    """The rows' texts, a missing one as an empty string (it gets the zero vector)."""
    return rows[column].fillna("").astype(str).tolist()


def fit_text(manifest: pd.DataFrame, vectorizer_path: str | os.PathLike, settings: dict, log: Callable[[str], None] = print) -> None:
    """Fit the vectorizer on the training clips' texts and pickle it.

    Parameters
    ----------
    manifest : the usable clips, with ``split`` and ``text``
    settings : the `vectorizer` arguments (config ``text``)
    """
    fitted = vectorizer(**settings)
    train = manifest[manifest["split"] == "train"]
    if train.empty:
        raise ValueError("no training clip has a text to fit the text features on")
    fitted.fit(texts(train))
    log(f"TF-IDF fitted on the {len(train)} training texts: {n_features(fitted)} features (word and character n-grams)")
    with atomic_path(vectorizer_path) as tmp:
        Path(tmp).write_bytes(pickle.dumps(fitted))


def n_features(fitted: FeatureUnion) -> int:
    return sum(len(step.vocabulary_) for _, step in fitted.transformer_list)


def write_text_cache(
    manifest: pd.DataFrame, shard: str, path: str | os.PathLike, vectorizer_path: str | os.PathLike, settings: dict, log: Callable[[str], None] = print
) -> None:
    """Write one shard's ``tfidf`` cache with the fitted vectorizer (a shard without clips: an empty cache).

    Each clip's ``tfidf`` is (1, n_features) float32: one instance per clip.
    """
    fitted = pickle.loads(Path(vectorizer_path).read_bytes())
    width = n_features(fitted)
    params = {"family": "text", "fitted_on": "train", "n_features": width, **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}
    rows = manifest[manifest["shard"] == shard]
    vectors = fitted.transform(texts(rows)).toarray().astype(np.float32) if len(rows) else np.zeros((0, width), np.float32)
    write_cache(path, list(rows["clip_id"]), {"tfidf": [v[np.newaxis] for v in vectors]}, params)
    log(f"shard {shard}: {len(rows)} clips, {int((vectors.sum(axis=1) == 0).sum())} without a known word")
