"""The ensemble: stacked on the validation split only, the plain average when that is too small,
clips aligned across members with every one left out accounted for."""

import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.models.ensemble import describe, ensemble
from impressions.models.metrics import pred_column, prediction_table, prob_column, true_column
from impressions.models.task import FIRST_IMPRESSIONS, Task

NOISE = {"sharp": 0.04, "middling": 0.08, "blurred": 0.16}
"""Member -> the sd of its independent noise around the truth."""
EMOTIONS = Task("classification", ("emotion",), ("neutral", "joy", "anger"), "accuracy", "none")


def regression_split(rng, n, split, noise=NOISE):
    """Truth in [0.2, 0.8] per trait, each member's prediction the truth plus its own noise."""
    truth = rng.uniform(0.2, 0.8, size=(n, len(TRAITS)))
    ids = [f"{split}{i:04d}" for i in range(n)]
    labels = None if split == "predict" else truth
    return {member: prediction_table(ids, labels, truth + rng.normal(0, sd, truth.shape)) for member, sd in noise.items()}


def regression_splits(n_val=200, n_test=1000, seed=0, noise=NOISE):
    rng = np.random.default_rng(seed)
    return {split: regression_split(rng, n, split, noise) for split, n in (("train", 50), ("val", n_val), ("test", n_test), ("predict", 0))}


def mae(table):
    return float(np.mean([np.abs(table[true_column(t)] - table[pred_column(t)]).mean() for t in TRAITS]))


def test_stacking_beats_every_member_and_their_average_and_weights_the_sharpest_most():
    splits = regression_splits()
    result = ensemble(splits, FIRST_IMPRESSIONS, seed=1)
    assert result.stack.method == "stacking" and result.stack.val_clips == 200
    test = splits["test"]
    average = test["sharp"].copy()
    for t in TRAITS:
        average[pred_column(t)] = np.mean([table[pred_column(t)] for table in test.values()], axis=0)
    stacked = mae(result.tables["test"])
    assert stacked < min(mae(table) for table in test.values()) and stacked < mae(average)
    fitted = describe(result.stack)["targets"]
    for t in TRAITS:
        weights = fitted[t]["weights"]
        assert weights["sharp"] > weights["middling"] > weights["blurred"]
        assert sum(weights.values()) == pytest.approx(1.0, abs=0.1)  # unbiased members: the weights share the truth
    assert result.tables["test"][[pred_column(t) for t in TRAITS]].stack().between(0, 1).all()
    assert result.excluded.empty and len(result.tables["predict"]) == 0


def test_too_few_validation_clips_give_the_plain_average_of_the_members():
    splits = regression_splits(n_val=12, n_test=30)
    result = ensemble(splits, FIRST_IMPRESSIONS, min_val_clips=20)
    assert result.stack.method == "average" and "12 validation clips" in result.stack.reason
    for split in ("val", "test"):
        for t in TRAITS:
            members = np.column_stack([splits[split][m][pred_column(t)] for m in NOISE])
            expected = np.clip(members.sum(axis=1) / len(NOISE), 0, 1)
            np.testing.assert_allclose(result.tables[split][pred_column(t)], expected, atol=1e-12)
    described = describe(result.stack)
    assert described["method"] == "average" and described["targets"]["openness"]["weights"] == {m: pytest.approx(1 / 3) for m in NOISE}


def test_fewer_validation_clips_than_members_plus_two_also_fall_back():
    splits = regression_splits(n_val=4, n_test=5)
    assert ensemble(splits, FIRST_IMPRESSIONS, min_val_clips=0).stack.method == "average"  # 4 < 3 members + 2


def test_a_clip_one_member_did_not_predict_is_excluded_with_its_reason():
    splits = regression_splits(n_val=40, n_test=20)
    dropped, unexplained = "test0003", "val0007"
    splits["test"]["blurred"] = splits["test"]["blurred"][splits["test"]["blurred"]["clip_id"] != dropped]
    splits["val"]["sharp"] = splits["val"]["sharp"][splits["val"]["sharp"]["clip_id"] != unexplained]
    excluded = {m: pd.DataFrame(columns=["clip_id", "split", "reason"]) for m in NOISE}
    excluded["blurred"] = pd.DataFrame({"clip_id": [dropped, "test9999"], "split": ["test", "test"], "reason": ["no VGGish embedding", "too short"]})
    excluded["sharp"] = pd.DataFrame({"clip_id": ["test9999"], "split": ["test"], "reason": ["too short"]})
    excluded["middling"] = excluded["sharp"]
    result = ensemble(splits, FIRST_IMPRESSIONS, excluded=excluded)
    reasons = result.excluded.set_index("clip_id")
    assert set(reasons.index) == {dropped, unexplained, "test9999"}
    assert reasons.loc[dropped, "split"] == "test" and "blurred: no VGGish embedding" in reasons.loc[dropped, "reason"]
    assert "sharp: no prediction" in reasons.loc[unexplained, "reason"]
    assert all(f"{m}: too short" in reasons.loc["test9999", "reason"] for m in NOISE)  # every member left it out
    assert dropped not in set(result.tables["test"]["clip_id"]) and len(result.tables["test"]) == 19
    assert unexplained not in set(result.tables["val"]["clip_id"]) and len(result.tables["val"]) == 39


def classification_split(rng, n, split):
    """Member `informed` puts most mass on the true class, but leans towards neutral (as a model
    trained on other class frequencies would); member `noise` is a random distribution."""
    labels = rng.integers(0, 3, size=n)
    onehot = np.eye(3)[labels]
    logits = 1.5 * onehot + rng.normal(0, 1.0, size=(n, 3)) + [1.0, 0.0, 0.0]
    informed = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    noise = rng.dirichlet(np.ones(3), size=n)
    ids, labels = [f"{split}{i:04d}" for i in range(n)], None if split == "predict" else onehot
    return {"informed": prediction_table(ids, labels, informed, EMOTIONS), "noise": prediction_table(ids, labels, noise, EMOTIONS)}


def accuracy(table):
    return float((table["emotion_true"] == table["emotion_pred"]).mean())


def test_stacked_probabilities_are_distributions_and_do_no_worse_than_the_informed_member():
    rng = np.random.default_rng(3)
    splits = {split: classification_split(rng, n, split) for split, n in (("train", 60), ("val", 300), ("test", 600), ("predict", 5))}
    result = ensemble(splits, EMOTIONS, folds=3, Cs=(0.1, 1.0, 10.0), seed=0)
    assert result.stack.method == "stacking"
    for split, table in result.tables.items():
        probabilities = table[[prob_column(c) for c in EMOTIONS.classes]].to_numpy()
        assert (probabilities >= 0).all() and np.allclose(probabilities.sum(axis=1), 1.0), split
    assert "emotion_true" not in result.tables["predict"] and len(result.tables["predict"]) == 5
    assert accuracy(result.tables["test"]) >= accuracy(splits["test"]["informed"])
    fitted = describe(result.stack, EMOTIONS)["targets"]["emotion"]
    assert fitted["classes"] == list(EMOTIONS.classes) and fitted["C"] > 0
    own = [abs(fitted["weights"][c][f"informed: log p_{c}"]) for c in EMOTIONS.classes]
    noise = [abs(fitted["weights"][c][f"noise: log p_{c}"]) for c in EMOTIONS.classes]
    assert min(own) > max(noise)


def test_the_classification_fallback_averages_the_members_probabilities():
    rng = np.random.default_rng(4)
    splits = {split: classification_split(rng, n, split) for split, n in (("train", 10), ("val", 6), ("test", 8), ("predict", 0))}
    result = ensemble(splits, EMOTIONS)
    assert result.stack.method == "average"
    columns = [prob_column(c) for c in EMOTIONS.classes]
    expected = (splits["test"]["informed"][columns].to_numpy() + splits["test"]["noise"][columns].to_numpy()) / 2
    np.testing.assert_allclose(result.tables["test"][columns].to_numpy(), expected, atol=1e-12)


def test_the_test_and_train_splits_never_change_the_fitted_weights():
    splits = regression_splits(n_val=60, n_test=40)
    before = describe(ensemble(splits, FIRST_IMPRESSIONS).stack)
    rng = np.random.default_rng(9)
    for split in ("test", "train"):
        for table in splits[split].values():
            for t in TRAITS:
                table[true_column(t)] = rng.uniform(0, 1, len(table))  # other truths
        splits[split]["sharp"][pred_column("extraversion")] = rng.uniform(0, 1, len(splits[split]["sharp"]))
    assert describe(ensemble(splits, FIRST_IMPRESSIONS).stack) == before


def test_each_validation_prediction_is_cross_fitted_without_its_own_label():
    splits = regression_splits(n_val=60, n_test=10)
    before = ensemble(splits, FIRST_IMPRESSIONS, seed=5).tables["val"]
    for table in splits["val"].values():
        table.loc[7, true_column("openness")] = 1.0 - table.loc[7, true_column("openness")]
    after = ensemble(splits, FIRST_IMPRESSIONS, seed=5).tables["val"]
    assert after.loc[7, pred_column("openness")] == pytest.approx(before.loc[7, pred_column("openness")], abs=1e-12)
    assert not np.allclose(after[pred_column("openness")], before[pred_column("openness")])  # the other folds' fits saw it
