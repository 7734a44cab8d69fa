"""Bootstrap intervals: resampled scores equal the metrics of the resampled clips (scikit-learn),
the paired difference to the baseline, and how sure the summary says each model is."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, mean_absolute_error

from impressions import SPLITS, TRAITS
from impressions.models import bootstrap
from impressions.models.metrics import evaluate, prediction_table
from impressions.models.task import Task
from impressions.report.summary import blocks, certainty, to_markdown
from test_summary import page_inputs

SETTINGS = {"resamples": 400, "level": 0.95, "seed": 3}
CLASSES = ["neutral", "joy", "anger", "fear"]


def drawn(counts_row: np.ndarray) -> np.ndarray:
    """The clip indices a resample draws, from how often it draws each clip."""
    return np.repeat(np.arange(len(counts_row)), counts_row.astype(int))


def test_resamples_draw_every_split_size_and_the_seed_fixes_them():
    counts = bootstrap.resample_counts(30, 200, seed=1)
    assert counts.shape == (200, 30) and (counts.sum(axis=1) == 30).all()
    np.testing.assert_array_equal(counts, bootstrap.resample_counts(30, 200, seed=1))
    assert not np.array_equal(counts, bootstrap.resample_counts(30, 200, seed=2))
    assert counts.mean() == pytest.approx(1.0) and 0.8 < counts.var() < 1.2  # multinomial(n, 1/n): mean 1, variance 1 - 1/n
    with pytest.raises(ValueError, match="no clips"):
        bootstrap.resample_counts(0, 10, seed=0)


def test_resampled_mean_one_minus_mae_is_that_of_the_drawn_clips():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.uniform(size=(25, 5)), rng.uniform(size=(25, 5))
    counts = bootstrap.resample_counts(25, 20, seed=0)
    scores = bootstrap.regression_scores(counts, y_true, y_pred)
    for row, score in zip(counts, scores):
        picked = drawn(row)
        expected = np.mean([1 - mean_absolute_error(y_true[picked, t], y_pred[picked, t]) for t in range(5)])
        assert score == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "weighted_f1", "macro_f1"])
def test_resampled_classification_metrics_are_scikit_learns_on_the_drawn_clips(metric):
    rng = np.random.default_rng(1)
    true_index, pred_index = rng.integers(0, 4, 40), rng.integers(0, 3, 40)  # class 3 never predicted
    counts = bootstrap.resample_counts(40, 25, seed=4)
    scores = bootstrap.confusion_scores(bootstrap.confusions(counts, true_index, pred_index, 4), metric)
    sklearn = {
        "accuracy": lambda t, p: accuracy_score(t, p),
        "balanced_accuracy": lambda t, p: balanced_accuracy_score(t, p),
        "weighted_f1": lambda t, p: f1_score(t, p, labels=range(4), average="weighted", zero_division=0),
        "macro_f1": lambda t, p: f1_score(t, p, labels=range(4), average="macro", zero_division=0),
    }[metric]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's note that a predicted class is not in y_true
        for row, score in zip(counts, scores):
            picked = drawn(row)
            assert score == pytest.approx(sklearn(true_index[picked], pred_index[picked]), abs=1e-12)


def test_balanced_accuracy_of_resamples_that_miss_a_rare_class_or_draw_it_once():
    true_index = np.array([0] * 10 + [1] * 9 + [2])
    pred_index = np.random.default_rng(6).integers(0, 3, 20)
    counts = bootstrap.resample_counts(20, 200, seed=5)
    assert (counts[:, 19] == 0).any() and (counts[:, 19] == 1).any()  # class 2's one clip: missed, or drawn once
    scores = bootstrap.confusion_scores(bootstrap.confusions(counts, true_index, pred_index, 3), "balanced_accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [balanced_accuracy_score(true_index[drawn(row)], pred_index[drawn(row)]) for row in counts]
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_the_interval_cuts_half_the_rest_of_the_level_from_each_end():
    assert bootstrap.interval(np.arange(101.0), 0.9) == pytest.approx([5.0, 95.0])  # percentiles of 0..100 are their values
    assert bootstrap.interval(np.arange(101.0), 0.5) == pytest.approx([25.0, 75.0])


def test_a_difference_whose_interval_holds_zero_is_not_better():
    model, baseline = np.linspace(-1, 1, 101), np.zeros(101)
    result = bootstrap.paired(model, baseline, level=0.9)
    assert result["difference_interval"] == pytest.approx([-0.9, 0.9]) and not result["better_than_baseline"]


def test_an_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="no bootstrap for metric 'auc'"):
        bootstrap.confusion_scores(np.ones((2, 3, 3)), "auc")


def test_the_interval_of_a_mean_matches_the_normal_approximation():
    values = np.random.default_rng(5).normal(0.5, 0.1, size=(400, 1))
    scores = bootstrap.regression_scores(bootstrap.resample_counts(400, 4000, seed=0), values, np.zeros_like(values))
    low, high = bootstrap.interval(scores, 0.95)
    half = 1.96 * values.std() / np.sqrt(400)
    assert low == pytest.approx(1 - values.mean() - half, abs=0.002) and high == pytest.approx(1 - values.mean() + half, abs=0.002)


def test_a_model_equal_to_its_baseline_is_not_better_and_a_clearly_better_one_is():
    rng = np.random.default_rng(2)
    y = rng.uniform(size=(50, 5))
    base = np.tile(y.mean(axis=0), (50, 1))
    same = bootstrap.regression(y, base, base, SETTINGS)
    assert same["difference_interval"] == [0.0, 0.0] and not same["better_than_baseline"] and same["model"] == same["baseline"]
    good = bootstrap.regression(y, y + rng.normal(0, 0.02, y.shape), base, SETTINGS)
    assert good["better_than_baseline"] and good["difference_interval"][0] > 0.1
    assert good["metric"] == "mean 1-MAE" and {k: good[k] for k in SETTINGS} == SETTINGS


def test_paired_intervals_are_narrower_than_the_scores_own_when_model_and_baseline_move_together():
    rng = np.random.default_rng(3)
    y = rng.uniform(size=(40, 5))
    base = np.tile(y.mean(axis=0), (40, 1))
    close = base + rng.normal(0, 0.01, y.shape)  # a model that barely differs from the baseline
    result = bootstrap.regression(y, close, base, SETTINGS)
    own = result["model"][1] - result["model"][0]
    assert result["difference_interval"][1] - result["difference_interval"][0] < own / 3


def regression_metrics(noise, seed=0):
    rng = np.random.default_rng(seed)
    predictions = {}
    for split, n in zip(SPLITS, (30, 20, 20)):
        truth = rng.uniform(0.2, 0.8, size=(n, len(TRAITS)))
        predictions[split] = prediction_table([f"{split}{i}" for i in range(n)], truth, truth + rng.normal(0, noise, truth.shape))
    return evaluate(predictions, resampling=SETTINGS)


def test_evaluate_adds_the_bootstrap_of_every_split_and_repeats_it_exactly():
    metrics = regression_metrics(0.05)
    for split in SPLITS:
        result = metrics["splits"][split]
        low, high = result["bootstrap"]["model"]
        assert low < result["model"]["mean"]["one_minus_mae"] < high
        assert result["bootstrap"]["baseline"][0] < result["baseline"]["mean"]["one_minus_mae"] < result["bootstrap"]["baseline"][1]
    assert regression_metrics(0.05) == metrics
    assert "bootstrap" not in evaluate({"train": prediction_table(["a"], np.full((1, 5), 0.5), np.full((1, 5), 0.5))})["splits"]["train"]


def test_classification_is_resampled_against_the_majority_class():
    task = Task("classification", ("emotion",), tuple(CLASSES), metric="weighted_f1")
    rng = np.random.default_rng(4)
    predictions = {}
    for split, n in zip(SPLITS, (40, 20, 30)):
        truth = np.eye(4)[rng.choice(4, n, p=[0.5, 0.2, 0.2, 0.1])]
        predictions[split] = prediction_table([f"{split}{i}" for i in range(n)], truth, truth * 0.6 + 0.1, task)
    result = evaluate(predictions, task, resampling=SETTINGS)["splits"]["test"]
    assert result["bootstrap"]["metric"] == "weighted_f1" and result["bootstrap"]["better_than_baseline"]
    assert result["model"]["weighted_f1"] == 1.0 and result["bootstrap"]["model"] == [1.0, 1.0]
    assert result["bootstrap"]["baseline"][0] <= result["majority"]["weighted_f1"] <= result["bootstrap"]["baseline"][1]
    assert evaluate(predictions, task, resampling=SETTINGS)["splits"]["test"]["bootstrap"] == result["bootstrap"]  # the seed fixes them


def test_the_summary_says_how_sure_each_model_is_and_which_beat_the_baseline():
    metrics = {"knn": regression_metrics(0.3, seed=1), "fusion": regression_metrics(0.02, seed=2)}
    table = certainty(metrics)
    assert list(table.index) == ["fusion", "knn"] and list(table.columns) == ["clips", "mean 1-MAE [95% interval]", "against the baseline", "better"]
    test = metrics["fusion"]["splits"]["test"]
    score, (low, high) = test["model"]["mean"]["one_minus_mae"], test["bootstrap"]["model"]
    assert table.loc["fusion", "mean 1-MAE [95% interval]"] == f"{score:.4f} [{low:.4f}, {high:.4f}]"
    difference = score - test["baseline"]["mean"]["one_minus_mae"]
    assert table.loc["fusion", "against the baseline"].startswith(f"{difference:+.4f} [")
    assert (table.loc["fusion", "better"], table.loc["knn", "better"]) == ("yes", "no")
    text = to_markdown(blocks(**page_inputs(metrics)))
    assert "## Test split: how sure (95% bootstrap intervals)" in text and "Better than the train-mean baseline: fusion." in text
    undrawn = {s: {k: v for k, v in r.items() if k != "bootstrap"} for s, r in metrics["knn"]["splits"].items()}
    assert certainty({"knn": {**metrics["knn"], "splits": undrawn}}).empty  # metrics without intervals: no table
