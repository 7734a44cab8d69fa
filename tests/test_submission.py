"""The submission: every unlabelled file once, predicted by the model best on validation."""

import numpy as np
import pandas as pd

from impressions.models.metrics import prediction_table
from impressions.models.submission import best_model, submission
from impressions.models.task import FIRST_IMPRESSIONS, Task

TASK = Task("classification", ("emotion",), ("calm", "sad"), metric="macro_f1")


def test_the_model_is_chosen_on_validation_by_the_tasks_metric_never_on_test():
    def metrics(val, test):
        return {"splits": {"val": {"model": {"macro_f1": val, "accuracy": 1.0}}, "test": {"model": {"macro_f1": test, "accuracy": 1.0}}}}

    assert best_model({"a": metrics(0.6, 0.9), "b": metrics(0.7, 0.1), "c": metrics(0.7, 0.5)}, TASK) == "b"
    regression = {
        "a": {"splits": {"val": {"model": {"mean": {"one_minus_mae": 0.88}}}}},
        "b": {"splits": {"val": {"model": {"mean": {"one_minus_mae": 0.91}}}}},
    }
    assert best_model(regression, FIRST_IMPRESSIONS) == "b"


def test_every_unlabelled_file_is_listed_once_and_an_unpredicted_one_stays_empty():
    sheet = pd.DataFrame(
        {
            "clip_id": ["clips_a", "clips_b", "clips_c", "clips_d"],
            "split": ["train", "predict", "predict", "predict"],
            "path": ["r/clips/a.wav", "r/clips/b.mp3", "r/clips/c.wav", "r/clips/d.wav"],
            "file": ["clips/a.wav", "clips/b.mp3", "clips/c.wav", "clips/d.wav"],
        }
    )
    probabilities = np.array([[0.2, 0.8], [0.9, 0.1]])
    predictions = prediction_table(["clips_d", "clips_b"], None, probabilities, TASK)
    assert "emotion_true" not in predictions
    table = submission(predictions, sheet, TASK, "file")
    assert list(table.columns) == ["file", "emotion"]
    assert table["file"].tolist() == ["clips/b.mp3", "clips/c.wav", "clips/d.wav"]
    assert table["emotion"].tolist()[0] == "calm" and pd.isna(table["emotion"].tolist()[1]) and table["emotion"].tolist()[2] == "sad"
