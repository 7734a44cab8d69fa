"""The dataset's task: defaults per kind, one-line config errors, targets as models see them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from impressions import LABELS, TRAITS
from impressions.io.errors import InputError
from impressions.models.task import FIRST_IMPRESSIONS, Task, resolve

MELD_LABELS = ["emotion", "sentiment"]
EMOTIONS = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")


def test_each_kind_has_its_task_when_config_leaves_it_empty():
    assert resolve({}, "chalearn", list(LABELS)) == FIRST_IMPRESSIONS
    assert FIRST_IMPRESSIONS.outputs == TRAITS and not FIRST_IMPRESSIONS.classification
    meld = resolve({}, "meld", MELD_LABELS)
    assert (meld.type, meld.target, meld.classes, meld.metric, meld.class_weights) == ("classification", "emotion", EMOTIONS, "weighted_f1", "balanced")
    assert resolve({"target": "sentiment"}, "meld", MELD_LABELS).classes == ("neutral", "positive", "negative")
    table = resolve({"classes": ["calm", "angry"], "class_weights": "none", "metric": "accuracy"}, "table", ["mood"])
    assert (table.target, table.classes, table.class_weights, table.metric) == ("mood", ("calm", "angry"), "none", "accuracy")


@pytest.mark.parametrize(
    "settings, kind, labels, message",
    [
        ({"type": "ranking"}, "meld", MELD_LABELS, "dataset.task.type: 'ranking' is not a task; choose one of regression, classification"),
        ({"target": "speaker"}, "meld", MELD_LABELS, "dataset.task.target: 'speaker' is not among the meld dataset's labels ['emotion', 'sentiment']"),
        ({}, "table", ["emotion"], "dataset.task.classes: the table dataset's target 'emotion' needs its class list"),
        ({"classes": ["a", "a"]}, "table", ["emotion"], "dataset.task.classes: ['a', 'a'] must name at least two distinct classes"),
        ({"metric": "r2"}, "meld", MELD_LABELS, "dataset.task.metric: 'r2' is not a classification metric; choose one of weighted_f1, macro_f1"),
        ({"metric": "accuracy"}, "chalearn", list(LABELS), "dataset.task.metric: 'accuracy' is not a regression metric; choose one of one_minus_mae"),
        ({"class_weights": "inverse"}, "meld", MELD_LABELS, "dataset.task.class_weights: 'inverse'; choose one of balanced, none"),
        ({"targets": ["charisma"]}, "chalearn", list(LABELS), "dataset.task.targets: 'charisma' not among the chalearn dataset's labels"),
    ],
)
def test_a_bad_task_is_one_line_that_names_the_value(settings, kind, labels, message):
    with pytest.raises(InputError) as error:
        resolve(settings, kind, labels)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_classes_are_one_hot_in_class_order_and_an_unknown_class_is_named():
    task = Task("classification", ("emotion",), ("calm", "happy", "sad"))
    rows = pd.DataFrame({"emotion": ["sad", "calm", "sad", "happy"]})
    np.testing.assert_array_equal(task.encode(rows), [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    with pytest.raises(InputError, match="angry not among dataset.task.classes"):
        task.class_index(["calm", "angry"])
    reasons = task.invalid(pd.DataFrame({"emotion": ["calm", "bored"]}))
    assert reasons.iloc[0] == "" and "'bored' is not one of the task's classes" in reasons.iloc[1]


def test_regression_targets_are_the_label_columns_in_task_order():
    rows = pd.DataFrame({t: [i / 10, i / 20] for i, t in enumerate(reversed(TRAITS))})
    np.testing.assert_array_equal(FIRST_IMPRESSIONS.encode(rows), rows[list(TRAITS)].to_numpy(np.float32))
    assert (FIRST_IMPRESSIONS.invalid(rows) == "").all()


def test_balanced_weights_are_scikit_learns_and_absent_classes_weigh_nothing():
    task = Task("classification", ("emotion",), ("a", "b", "c", "d"), class_weights="balanced")
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2])
    weights = task.weights(np.eye(4, dtype=np.float32)[labels])
    np.testing.assert_allclose(weights[:3], compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=labels) * 3 / 4, rtol=1e-6)
    np.testing.assert_allclose(weights[:3], [9 / (4 * 6), 9 / (4 * 2), 9 / (4 * 1)], rtol=1e-6)
    assert weights[3] == 0
    unweighted = Task("classification", ("emotion",), ("a", "b", "c", "d"), class_weights="none")
    np.testing.assert_array_equal(unweighted.weights(np.eye(4)[labels]), np.ones(4))


def test_a_task_travels_as_plain_values():
    task = resolve({"target": "sentiment", "metric": "macro_f1"}, "meld", MELD_LABELS)
    assert Task.from_params(task.describe()) == task
    assert Task.from_params(FIRST_IMPRESSIONS.describe()) == FIRST_IMPRESSIONS
