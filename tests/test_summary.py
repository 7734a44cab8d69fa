import pandas as pd

from impressions import TRAITS
from impressions.summary import render


def metrics(value):
    block = {t: {"one_minus_mae": value, "r2": 0.1} for t in (*TRAITS, "mean")}
    return {"splits": {"test": {"model": block, "baseline": {t: {"one_minus_mae": 0.88} for t in (*TRAITS, "mean")}}}}


def inputs(pretrained):
    manifest = pd.DataFrame({"clip_id": ["a", "b", "c"], "split": ["train", "val", "test"]})
    excluded = pd.DataFrame({"clip_id": ["d"], "split": ["train"], "reason": ["no audio stream"]})
    embedder = {"pretrained": pretrained, "description": "TF Hub model x" if pretrained else "UNTRAINED VGGish (seed 0)"}
    return dict(dataset="demo", manifest=manifest, excluded=excluded, embedder=embedder, metrics={"vggish_head": metrics(0.9)})


def test_untrained_vggish_is_flagged_and_exclusions_listed():
    text = render(**inputs(False))
    assert "WARNING: VGGish ran WITHOUT pretrained weights" in text
    assert "`d` (train): no audio stream" in text
    assert "| train | 1 | 1 |" in text and "| test | 1 | 0 |" in text
    assert "| vggish_head | 0.9000 |" in text and "| train-mean baseline | 0.8800 |" in text


def test_pretrained_run_has_no_warning_and_shows_the_ceiling():
    truth = {"splits": {"test": {t: {"ceiling_1mae": 0.95} for t in (*TRAITS, "mean")}}}
    text = render(**inputs(True), ground_truth=truth)
    assert "WARNING" not in text and "TF Hub model x" in text
    assert "| noise ceiling (ground truth) | 0.9500 |" in text
