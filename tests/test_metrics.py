import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.models.metrics import evaluate, prediction_table, score


def table(y_true, y_pred, ids=None):
    ids = ids or [f"c{i}" for i in range(len(y_true))]
    return prediction_table(ids, np.asarray(y_true, float), np.asarray(y_pred, float))


def test_score_known_values():
    s = score(np.array([0.0, 0.5, 1.0]), np.array([0.1, 0.5, 0.7]))
    assert s["mae"] == pytest.approx(0.4 / 3)
    assert s["one_minus_mae"] == pytest.approx(1 - 0.4 / 3)
    assert s["r2"] == pytest.approx(1 - (0.01 + 0 + 0.09) / 0.5)
    assert s["label_std"] == pytest.approx(np.std([0, 0.5, 1]))


def test_evaluate_perfect_model_and_train_mean_baseline():
    rng = np.random.default_rng(0)
    train = rng.uniform(size=(50, 5))
    test = rng.uniform(size=(20, 5))
    metrics = evaluate({"train": table(train, train), "test": table(test, test)})
    assert metrics["splits"]["test"]["model"]["mean"]["one_minus_mae"] == pytest.approx(1.0)
    assert metrics["splits"]["test"]["model"]["mean"]["r2"] == pytest.approx(1.0)
    for i, trait in enumerate(TRAITS):
        assert metrics["train_means"][trait] == pytest.approx(train[:, i].mean())
        baseline = metrics["splits"]["test"]["baseline"][trait]
        assert baseline["mae"] == pytest.approx(np.abs(test[:, i] - train[:, i].mean()).mean())
        assert baseline["pred_std"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["splits"]["train"]["baseline"]["mean"]["r2"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["splits"]["test"]["n_clips"] == 20


def test_evaluate_needs_train_split():
    with pytest.raises(ValueError, match="train predictions"):
        evaluate({"test": table([[0.5] * 5], [[0.5] * 5])})


def test_evaluate_scores_the_ceiling_on_the_models_clips_only():
    rng = np.random.default_rng(1)
    train, test = rng.uniform(size=(10, 5)), rng.uniform(size=(4, 5))
    ids = [f"t{i}" for i in range(4)]
    best = pd.DataFrame(test + 0.1, index=ids, columns=list(TRAITS))
    best.loc["unused"] = 0.0  # a clip the model did not see does not count
    ceiling = pd.concat([pd.DataFrame(train, index=[f"c{i}" for i in range(10)], columns=list(TRAITS)), best])
    metrics = evaluate({"train": table(train, train), "test": table(test, test, ids)}, ceiling=ceiling)
    for trait in TRAITS:
        assert metrics["splits"]["test"]["ceiling"][trait]["mae"] == pytest.approx(0.1)
        assert metrics["splits"]["train"]["ceiling"][trait]["one_minus_mae"] == pytest.approx(1.0)
    assert metrics["splits"]["test"]["ceiling"]["mean"]["one_minus_mae"] == pytest.approx(0.9)
    assert "ceiling" not in evaluate({"train": table(train, train)})["splits"]["train"]
