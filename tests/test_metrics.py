import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.models.metrics import evaluate, evaluate_regression, headline, prediction_table, score


def table(y_true, y_pred, ids=None):
    ids = ids or [f"c{i}" for i in range(len(y_true))]
    return prediction_table(ids, np.asarray(y_true, float), np.asarray(y_pred, float))


def test_score_known_values():
    s = score(np.array([0.0, 0.5, 1.0]), np.array([0.1, 0.5, 0.7]))
    assert s["mae"] == pytest.approx(0.4 / 3)
    assert s["one_minus_mae"] == pytest.approx(1 - 0.4 / 3)
    assert s["r2"] == pytest.approx(1 - (0.01 + 0 + 0.09) / 0.5)
    assert s["label_std"] == pytest.approx(np.std([0, 0.5, 1]))
    assert score(np.array([0.0, 1.0]), np.array([0.25, 1.0]))["r2"] == pytest.approx(1 - 0.0625 / 0.5)  # two clips have an R^2


def test_prediction_table_of_unlabelled_clips_has_no_true_columns():
    written = prediction_table(["p0", "p1"], None, np.full((2, 5), 0.5))
    assert list(written.columns) == ["clip_id", *(f"{t}_pred" for t in TRAITS)]


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


def test_evaluate_regression_alone_needs_the_train_split_too():
    with pytest.raises(ValueError, match="the train predictions are needed for the train-mean baseline"):
        evaluate_regression({"test": table([[0.5] * 5], [[0.5] * 5])})


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


# --- classification ---------------------------------------------------------------------------

from impressions.models.metrics import class_prior, class_scores, evaluate_classification, majority_class, read_predictions  # noqa: E402
from impressions.models.task import Task  # noqa: E402

ABC = Task("classification", ("emotion",), ("a", "b", "c"), "macro_f1", "none")
TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]
# Confusion (true by row, predicted by column): a [2 1 0], b [0 1 1], c [0 0 1].
# a: precision 2/2, recall 2/3, F1 4/5; b: 1/2, 1/2, 1/2; c: 1/2, 1/1, 2/3.


def class_table(true, pred, ids=None, task=ABC):
    ids = ids or [f"c{i}" for i in range(len(true))]
    eye = np.eye(len(task.classes))
    return prediction_table(ids, eye[task.class_index(true)], 0.1 + 0.7 * eye[task.class_index(pred)], task)


def test_class_scores_against_hand_computed_values():
    s = class_scores(TRUE, PRED, ABC.classes)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)  # 13/18
    assert s["macro_f1"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)  # 59/90
    assert s["weighted_f1"] == pytest.approx((3 * 4 / 5 + 2 * 1 / 2 + 1 * 2 / 3) / 6)  # 61/90
    expected = {"a": (1.0, 2 / 3, 4 / 5, 3), "b": (1 / 2, 1 / 2, 1 / 2, 2), "c": (1 / 2, 1.0, 2 / 3, 1)}
    for cls, (precision, recall, f1, support) in expected.items():
        got = s["per_class"][cls]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((precision, recall, f1))
        assert got["support"] == support and isinstance(got["support"], int)
    assert s["confusion"]["counts"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    np.testing.assert_allclose(s["confusion"]["normalized"], [[2 / 3, 1 / 3, 0], [0, 1 / 2, 1 / 2], [0, 0, 1]])


def test_a_class_without_clips_counts_as_zero_in_macro_f1_and_a_zero_row():
    s = class_scores(TRUE, PRED, ("a", "b", "c", "d"))
    assert s["macro_f1"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 4)
    assert s["weighted_f1"] == pytest.approx(61 / 90) and s["balanced_accuracy"] == pytest.approx(13 / 18)
    assert s["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert s["confusion"]["counts"][3] == [0, 0, 0, 0] and s["confusion"]["normalized"][3] == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"\['x'\] are not among the task's classes"):
        class_scores(["a", "x"], ["a", "a"], ABC.classes)


def test_class_prior_is_the_expected_score_of_guessing_with_the_train_frequencies():
    priors = {"a": 1 / 3, "b": 1 / 2, "c": 1 / 6}  # q; the test split's shares p are 1/2, 1/3, 1/6
    s = class_prior(TRUE, priors, ABC.classes)
    assert s["accuracy"] == pytest.approx(1 / 2 * 1 / 3 + 1 / 3 * 1 / 2 + 1 / 6 * 1 / 6)  # sum p q = 13/36
    assert s["balanced_accuracy"] == pytest.approx((1 / 3 + 1 / 2 + 1 / 6) / 3)  # recall of class i is q_i
    f1 = {"a": 2 / 5, "b": 2 / 5, "c": 1 / 6}  # 2 p q / (p + q)
    for cls, p in zip(ABC.classes, (1 / 2, 1 / 3, 1 / 6)):
        got = s["per_class"][cls]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p, priors[cls], f1[cls]))
    assert s["macro_f1"] == pytest.approx(29 / 90) and s["weighted_f1"] == pytest.approx((3 * 2 / 5 + 2 * 2 / 5 + 1 / 6) / 6)
    np.testing.assert_allclose(s["confusion"]["counts"], [[1, 1.5, 0.5], [2 / 3, 1, 1 / 3], [1 / 3, 1 / 2, 1 / 6]])
    np.testing.assert_allclose(s["confusion"]["normalized"], [[1 / 3, 1 / 2, 1 / 6]] * 3)
    assert [s["per_class"][c]["support"] for c in ABC.classes] == pytest.approx([3, 2, 1])
    # the accuracy and the recalls are exact expectations over draws: check against many draws
    rng = np.random.default_rng(0)
    draws = rng.choice(list(priors), p=list(priors.values()), size=(20000, len(TRUE)))
    assert (draws == np.array(TRUE)).mean() == pytest.approx(13 / 36, abs=0.005)
    assert (draws[:, :3] == "a").mean() == pytest.approx(1 / 3, abs=0.005)


def test_class_prior_never_guesses_a_class_without_a_prior_and_weights_the_recalls():
    s = class_prior(["a", "a", "c"], {"a": 0.75, "b": 0.25}, ABC.classes)  # c has no prior: never guessed
    assert s["balanced_accuracy"] == pytest.approx((0.75 + 0.0) / 2)  # recall q_i, over the classes that occur
    assert s["accuracy"] == pytest.approx(2 / 3 * 0.75)
    np.testing.assert_allclose(s["confusion"]["counts"], [[1.5, 0.5, 0.0], [0.0, 0.0, 0.0], [0.75, 0.25, 0.0]])


def test_class_scores_of_one_clip_and_of_none():
    assert class_scores(["b"], ["b"], ABC.classes)["accuracy"] == 1.0
    with pytest.raises(ValueError, match="no clips to score"):
        class_scores([], [], ABC.classes)


def test_majority_class_breaks_ties_by_class_order():
    assert majority_class(["b", "b", "b", "a", "a", "c"], ABC.classes) == "b"
    assert majority_class(["c", "b", "b", "c"], ABC.classes) == "b"
    assert majority_class(["c"], ABC.classes) == "c"  # classes without training labels count 0


def test_headline_is_the_tasks_metric_of_a_classification_and_the_mean_of_a_regression():
    assert headline({"macro_f1": 0.25, "accuracy": 0.5}, ABC) == 0.25
    assert headline({"mean": {"one_minus_mae": 0.875}, "openness": {"one_minus_mae": 0.5}}) == 0.875


def test_evaluate_classification_scores_the_model_and_its_yardsticks_per_split():
    train = class_table(["a", "a", "b", "b", "b", "c"], ["a", "b", "b", "b", "b", "c"])
    test = class_table(TRUE, PRED, [f"t{i}" for i in range(6)])
    posterior = pd.DataFrame(np.eye(3)[ABC.class_index(TRUE)] * 0.5 + 0.1, index=[f"t{i}" for i in range(6)], columns=["a", "b", "c"])
    posterior.iloc[5] = [0.6, 0.3, 0.1]  # the Bayes classifier gets the c clip wrong
    ceiling = pd.concat([posterior, pd.DataFrame(np.eye(3)[ABC.class_index(train["emotion_true"])], index=train["clip_id"], columns=["c", "b", "a"])])
    metrics = evaluate({"train": train, "test": test}, task=ABC, ceiling=ceiling)
    assert metrics["task"] == ABC.describe() and metrics["classes"] == ["a", "b", "c"] and metrics["target"] == "emotion"
    assert metrics["train_priors"] == pytest.approx({"a": 1 / 3, "b": 1 / 2, "c": 1 / 6}) and metrics["majority_class"] == "b"
    split = metrics["splits"]["test"]
    assert split["n_clips"] == 6 and set(split) == {"n_clips", "model", "majority", "prior", "bayes"}
    assert split["model"]["macro_f1"] == pytest.approx(59 / 90)
    majority = split["majority"]  # b for every clip: precision of b 2/6, recall 1, F1 1/2
    assert (majority["accuracy"], majority["balanced_accuracy"]) == pytest.approx((1 / 3, 1 / 3))
    assert (majority["weighted_f1"], majority["macro_f1"]) == pytest.approx((2 * 1 / 2 / 6, 1 / 2 / 3))
    assert split["prior"]["accuracy"] == pytest.approx(13 / 36)
    assert split["bayes"]["accuracy"] == pytest.approx(5 / 6) and split["bayes"]["confusion"]["counts"][2] == [1, 0, 0]
    # columns are read by name, not place: the train posteriors put a's mass on c and c's on a, b's on b (3 of 6 clips)
    assert metrics["splits"]["train"]["bayes"]["accuracy"] == pytest.approx(0.5) and metrics["splits"]["train"]["bayes"]["per_class"]["a"]["recall"] == 0.0
    assert "bayes" not in evaluate({"train": train, "test": test}, task=ABC)["splits"]["test"]
    with pytest.raises(ValueError, match="no Bayes posterior"):
        evaluate({"train": train, "test": test}, task=ABC, ceiling=posterior)
    with pytest.raises(ValueError, match=r"no column for class\(es\) \['c'\]"):
        evaluate({"train": train}, task=ABC, ceiling=ceiling[["a", "b"]])
    with pytest.raises(ValueError, match="train predictions"):
        evaluate({"test": test}, task=ABC)
    with pytest.raises(ValueError, match="the train predictions hold no clips"):
        evaluate({"train": train.iloc[:0], "test": test}, task=ABC)
    with pytest.raises(ValueError, match=r"test: 4 clip\(s\) have no Bayes posterior in the ground truth, e.g. \['t2', 't3', 't4'\]$"):
        evaluate({"train": train, "test": test}, task=ABC, ceiling=ceiling.drop(["t2", "t3", "t4", "t5"]))


def test_a_class_missing_from_the_train_split_has_prior_zero():
    metrics = evaluate({"train": class_table(["a", "b", "b"], ["a", "a", "a"])}, task=ABC)
    assert metrics["train_priors"] == pytest.approx({"a": 1 / 3, "b": 2 / 3, "c": 0.0})
    assert metrics["splits"]["train"]["prior"]["accuracy"] == pytest.approx(1 / 3 * 1 / 3 + 2 / 3 * 2 / 3)


def test_evaluate_regression_says_its_task():
    metrics = evaluate({"train": table([[0.5] * 5, [0.4] * 5], [[0.5] * 5, [0.5] * 5])})
    assert metrics["task"]["type"] == "regression" and metrics["targets"] == list(TRAITS)
    assert set(metrics["splits"]["train"]) == {"n_clips", "model", "baseline"}
    train = class_table(["a", "b"], ["a", "a"])
    assert "task" not in evaluate_classification({"train": train}, ABC) and evaluate({"train": train}, task=ABC)["task"]["type"] == "classification"


def test_read_predictions_keeps_class_names_as_written(tmp_path):
    task = Task("classification", ("label",), ("NA", "1", "None"), "accuracy", "none")
    written = prediction_table(["001", "002", "003"], np.eye(3), np.eye(3)[[1, 0, 2]] * 0.8 + 0.0666, task)
    written.to_csv(tmp_path / "p.csv", index=False)
    read = read_predictions(tmp_path / "p.csv", task)
    assert list(read["label_true"]) == ["NA", "1", "None"] and list(read["label_pred"]) == ["1", "NA", "None"]
    assert list(read["clip_id"]) == ["001", "002", "003"] and read["p_NA"].dtype == float
    assert class_scores(read["label_true"], read["label_pred"], task.classes)["accuracy"] == pytest.approx(1 / 3)


def test_bayes_posteriors_of_both_generators_are_keyed_by_the_pipelines_clip_ids():
    import json

    from impressions.data import synthetic_meld, synthetic_table
    from impressions.data.ground_truth import bayes_posteriors

    params = {"seed": 5, "n_dialogues": {"train": 2, "val": 1, "test": 1}, "width": 64, "height": 48, "fps": 10}
    utterances = synthetic_meld.plan(params)
    truth = json.loads(json.dumps(synthetic_meld.ground_truth(utterances, params)))
    emotion, sentiment = bayes_posteriors(truth, "emotion"), bayes_posteriors(truth, "sentiment")
    assert list(emotion.columns) == list(synthetic_meld.EMOTIONS) and list(sentiment.columns) == ["neutral", "positive", "negative"]
    for u in utterances:
        expected = synthetic_meld.bayes_posterior(u.hidden, u.word_emotion, u.together)
        assert emotion.loc[u.clip_id].to_dict() == pytest.approx(expected, abs=1e-6)
        negative = sum(p for e, p in expected.items() if e in ("anger", "sadness", "disgust", "fear")) + expected["surprise"] * 614 / 1205
        assert sentiment.loc[u.clip_id, "negative"] == pytest.approx(negative, abs=1e-5)
    assert bayes_posteriors(truth, "speaker") is None

    params = {"seed": 5, "n_files": {"train": 8, "test": 2}}
    files = synthetic_table.plan(params)
    posterior = bayes_posteriors(json.loads(json.dumps(synthetic_table.ground_truth(files, params))), "emotion")
    assert sorted(posterior.index) == sorted(f.clip_id for f in files) and list(posterior.columns) == list(synthetic_table.CLASSES)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0, atol=1e-5)
    assert posterior.loc[files[0].clip_id].to_dict() == pytest.approx(synthetic_table.bayes_posterior(files[0].hidden), abs=1e-6)
