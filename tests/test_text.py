"""Text features: TF-IDF fitted on the training split only, checked against a hand computation."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from impressions.features.text_stage import fit_text, vectorizer, write_text_cache
from impressions.io.cache import CacheReader

CORPUS = ["oh my god", "my my my", "god no"]


def test_word_features_are_sublinear_tf_times_smoothed_idf_l2_normalised():
    fitted = vectorizer(word_ngrams=(1, 1), char_ngrams=(2, 2)).fit(CORPUS)
    words = dict(fitted.transformer_list)["words"]
    vector = words.transform(["my my god"]).toarray()[0]
    n, df = 3, {"oh": 1, "my": 2, "god": 2, "no": 1}
    idf = {w: math.log((1 + n) / (1 + d)) + 1 for w, d in df.items()}
    raw = {"my": (1 + math.log(2)) * idf["my"], "god": 1 * idf["god"]}
    norm = math.sqrt(sum(v * v for v in raw.values()))
    for word, index in words.vocabulary_.items():
        assert vector[index] == pytest.approx(raw.get(word, 0.0) / norm, rel=1e-6)


def test_the_vocabulary_comes_from_training_texts_only_and_every_shard_is_written(tmp_path):
    manifest = pd.DataFrame(
        {
            "clip_id": ["a", "b", "c", "d"],
            "split": ["train", "train", "test", "val"],
            "shard": ["000", "001", "000", "000"],
            "text": ["I love it", "I hate it", "zebra", None],
        }
    )
    outputs = {"000": tmp_path / "000.h5", "001": tmp_path / "001.h5", "002": tmp_path / "002.h5"}
    settings = {"word_ngrams": [1, 2], "char_ngrams": [3, 3], "max_features": 100, "min_df": 1}
    fit_text(manifest, tmp_path / "vectorizer.pkl", settings, log=lambda _: None)
    for shard, path in outputs.items():
        write_text_cache(manifest, shard, path, tmp_path / "vectorizer.pkl", settings, log=lambda _: None)
    fitted = pickle.loads((tmp_path / "vectorizer.pkl").read_bytes())
    words = dict(fitted.transformer_list)["words"]
    assert set(words.vocabulary_) == {"i", "love", "it", "hate", "i love", "love it", "i hate", "hate it"}
    with CacheReader(outputs["000"]) as cache:
        assert cache.clip_ids == ["a", "c", "d"]
        assert not cache.get("tfidf", "c").any() and not cache.get("tfidf", "d").any()  # "zebra" shares no training n-gram; no text
        np.testing.assert_allclose(cache.get("tfidf", "a"), fitted.transform(["I love it"]).toarray(), rtol=1e-6)
        assert cache.get("tfidf", "a").shape == (1, len(words.vocabulary_) + len(dict(fitted.transformer_list)["chars"].vocabulary_))
    with CacheReader(outputs["002"]) as cache:
        assert cache.clip_ids == []
