"""The modalities of each model, the paired comparison of fusion with each single modality, checked
against scikit-learn and numpy on the same resamples, and how the summary shows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from impressions import TRAITS
from impressions.models import bootstrap
from impressions.models.modalities import fusion_against_single, modalities, paired_scores
from impressions.models.task import FIRST_IMPRESSIONS, Task
from impressions.report.fusion import fusion_table, verdicts

EMOTION = Task("classification", ("emotion",), ("neutral", "joy", "anger"), metric="weighted_f1", class_weights="none")
SETTINGS = {"resamples": 200, "level": 0.9, "seed": 3}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("egemaps_linear", ["audio"]),
        ("rawwav_cam_cnn", ["audio"]),
        ("video_linear", ["video"]),
        ("text_linear", ["text"]),
        ("fusion", ["audio", "video"]),
        ("audiovisual_linear", ["audio", "video"]),
        ("fusion_text", ["audio", "video", "text"]),
        ("audiovisual_text_linear", ["audio", "video", "text"]),
    ],
)
def test_a_models_modalities_follow_from_the_caches_it_reads(model, expected):
    assert modalities(model) == expected


def test_a_stack_has_its_members_modalities_in_order():
    assert modalities("ensemble", ["text_linear", "knn"]) == ["audio", "text"]
    assert modalities("ensemble", ["video_linear"]) == ["video"]


def class_table(clip_ids, true, pred):
    return pd.DataFrame({"clip_id": clip_ids, "emotion_true": true, "emotion_pred": pred})


def test_the_paired_classification_difference_is_sklearns_weighted_f1_on_the_common_clips_and_on_each_resample():
    rng = np.random.default_rng(0)
    classes = np.array(EMOTION.classes)
    true = classes[rng.integers(3, size=40)]
    first = np.where(rng.random(40) < 0.7, true, classes[rng.integers(3, size=40)])
    second = np.where(rng.random(40) < 0.4, true, classes[rng.integers(3, size=40)])
    ids = [f"c{i:02d}" for i in range(40)]
    a = class_table(ids, true, first)
    b = class_table(ids[5:][::-1], true[5:][::-1], second[5:][::-1])  # 5 clips fewer, in another order
    clips, difference, resampled = paired_scores(EMOTION, a, b, SETTINGS)
    assert clips == 35
    common_true, common_first, common_second = true[5:], first[5:], second[5:]
    expected = f1_score(common_true, common_first, average="weighted") - f1_score(common_true, common_second, average="weighted")
    assert difference == pytest.approx(expected, abs=1e-12)
    counts = bootstrap.resample_counts(35, SETTINGS["resamples"], SETTINGS["seed"])
    by_sklearn = [
        f1_score(common_true, common_first, average="weighted", zero_division=0, sample_weight=weights)
        - f1_score(common_true, common_second, average="weighted", zero_division=0, sample_weight=weights)
        for weights in counts
    ]
    np.testing.assert_allclose(resampled, by_sklearn, rtol=0, atol=1e-12)


def regression_table(clip_ids, y):
    true, pred = y
    columns = {f"{t}_true": true[:, i] for i, t in enumerate(TRAITS)} | {f"{t}_pred": pred[:, i] for i, t in enumerate(TRAITS)}
    return pd.DataFrame({"clip_id": clip_ids, **columns})


def test_the_paired_regression_difference_is_the_difference_of_mean_one_minus_mae():
    rng = np.random.default_rng(1)
    true = rng.random((12, 5))
    first, second = true + rng.normal(scale=0.05, size=true.shape), true + rng.normal(scale=0.1, size=true.shape)
    ids = [f"c{i}" for i in range(12)]
    clips, difference, resampled = paired_scores(FIRST_IMPRESSIONS, regression_table(ids, (true, first)), regression_table(ids, (true, second)), SETTINGS)
    assert clips == 12
    assert difference == pytest.approx(np.abs(true - second).mean() - np.abs(true - first).mean(), abs=1e-12)
    counts = bootstrap.resample_counts(12, SETTINGS["resamples"], SETTINGS["seed"])
    per_clip = np.abs(true - second).mean(axis=1) - np.abs(true - first).mean(axis=1)
    np.testing.assert_allclose(resampled, counts @ per_clip / 12, rtol=0, atol=1e-12)


def test_two_models_without_a_clip_in_common_are_an_error():
    with pytest.raises(ValueError, match="no clip in common"):
        paired_scores(EMOTION, class_table(["a"], ["joy"], ["joy"]), class_table(["b"], ["joy"], ["joy"]), SETTINGS)


def comparison_of(predictions: dict[str, np.ndarray], true: np.ndarray, used: dict[str, list[str]]) -> pd.DataFrame:
    ids = [f"c{i:02d}" for i in range(len(true))]
    return fusion_against_single(EMOTION, {name: class_table(ids, true, pred) for name, pred in predictions.items()}, used, SETTINGS)


def test_each_fusion_model_meets_each_single_modality_model():
    rng = np.random.default_rng(2)
    classes = np.array(EMOTION.classes)
    true = classes[rng.integers(3, size=60)]

    def right(share):
        return np.where(rng.random(60) < share, true, classes[rng.integers(3, size=60)])

    shares = {"audio_model": 0.3, "fused": 0.95, "video_model": 0.5, "text_model": 0.4, "half": 0.9, "stack": 0.9}
    predictions = {name: right(share) for name, share in shares.items()}
    used = {
        "audio_model": ["audio"],
        "fused": ["audio", "video", "text"],
        "video_model": ["video"],
        "text_model": ["text"],
        "half": ["audio", "video"],
        "stack": ["audio", "video", "text"],
    }
    table = comparison_of(predictions, true, used)
    assert list(zip(table["multimodal"], table["single"])) == [(f, s) for f in ("fused", "stack") for s in ("audio_model", "video_model", "text_model")]
    assert set(table["multimodal_modalities"]) == {"audio+video+text"} and list(table["single_modality"][:3]) == ["audio", "video", "text"]
    assert (table["clips"] == 60).all() and table["better"].all() and (table["low"] < table["difference"]).all() and (table["difference"] < table["high"]).all()
    row = table.iloc[1]
    expected = f1_score(true, predictions["fused"], average="weighted") - f1_score(true, predictions["video_model"], average="weighted")
    assert row["difference"] == pytest.approx(expected, abs=1e-12)


def test_no_comparison_without_two_modalities_a_single_modality_model_or_test_clips():
    true = np.array(["joy", "anger", "neutral", "joy"])
    assert comparison_of({"a": true, "b": true}, true, {"a": ["audio"], "b": ["audio"]}).empty
    assert comparison_of({"a": true, "b": true}, true, {"a": ["audio", "video"], "b": ["audio", "video"]}).empty
    empty = class_table([], [], [])
    used = {"a": ["audio"], "b": ["audio", "video"]}
    assert fusion_against_single(EMOTION, {"a": empty, "b": empty}, used, SETTINGS).empty
    apart = {"c": class_table(["y"], ["joy"], ["anger"]), "a": class_table(["x"], ["joy"], ["joy"]), "b": class_table(["x"], ["joy"], ["joy"])}
    table = fusion_against_single(EMOTION, apart, {**used, "c": ["video"]}, SETTINGS)
    assert list(zip(table["multimodal"], table["single"])) == [("b", "a")]  # b shares no clip with c, listed first
    empty = fusion_against_single(EMOTION, {"a": class_table([], [], [])}, {"a": ["audio"]}, SETTINGS)
    assert list(empty.columns) == ["multimodal", "multimodal_modalities", "single", "single_modality", "clips", "difference", "low", "high", "better"]


def test_the_table_and_the_verdicts_say_the_margins_and_which_model_was_closest():
    comparison = pd.DataFrame(
        {
            "multimodal": ["fused", "fused", "stack", "stack"],
            "multimodal_modalities": ["audio+video"] * 4,
            "single": ["egemaps_linear", "video_linear"] * 2,
            "single_modality": ["audio", "video"] * 2,
            "clips": [30] * 4,
            "difference": [0.2, 0.05, 0.1, -0.01],
            "low": [0.1, -0.02, 0.01, -0.05],
            "high": [0.3, 0.12, 0.2, 0.03],
            "better": [True, False, True, False],
        }
    )
    table = fusion_table(comparison)
    assert list(table.index) == ["egemaps_linear (audio)", "video_linear (video)"]
    assert list(table.columns) == ["fused (audio+video)", "stack (audio+video)"]
    assert table.loc["egemaps_linear (audio)", "fused (audio+video)"] == "+0.2000 [+0.1000, +0.3000] *"
    assert table.loc["video_linear (video)", "stack (audio+video)"] == "-0.0100 [-0.0500, +0.0300]"
    assert verdicts(comparison) == [
        "fused beats every single-modality model (1 of 2 significantly); its smallest margin is +0.0500 [-0.0200, +0.1200], over video_linear.",
        "stack does not beat every single-modality model (not video_linear); its smallest margin is -0.0100 [-0.0500, +0.0300], over video_linear.",
    ]
    assert table.index.name == "single-modality model"


def test_verdicts_keep_the_tables_order_and_a_tie_is_not_a_win():
    comparison = pd.DataFrame(
        {
            "multimodal": ["zeta", "zeta", "alpha", "alpha"],
            "multimodal_modalities": ["audio+video"] * 4,
            "single": ["egemaps_linear", "video_linear"] * 2,
            "single_modality": ["audio", "video"] * 2,
            "clips": [30] * 4,
            "difference": [0.0, 0.1, -0.02, -0.01],
            "low": [-0.1, 0.01, -0.1, -0.1],
            "high": [0.1, 0.2, 0.05, 0.05],
            "better": [False, True, False, False],
        }
    )
    assert verdicts(comparison) == [
        "zeta does not beat every single-modality model (not egemaps_linear); its smallest margin is +0.0000 [-0.1000, +0.1000], over egemaps_linear.",
        "alpha does not beat every single-modality model (not egemaps_linear, video_linear); its smallest margin is -0.0200 [-0.1000, +0.0500], "
        "over egemaps_linear.",
    ]
    assert list(fusion_table(comparison).columns) == ["zeta (audio+video)", "alpha (audio+video)"]
