"""End to end on the two other dataset kinds' embedded examples (MELD layout, audio table): the
sheet, the manifest and every cache their modalities allow, checked against the generators' plans,
and the classification task through a model of each framework, the CAM maps and the submission."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from impressions.data import synthetic_meld, synthetic_table
from impressions.data.clips import read_manifest
from impressions.data.plan import merged
from impressions.io.cache import CacheReader
from workflow_rules import REPO

TINY = {
    "meld": {"synthetic": {"seed": 5, "meld": {"n_dialogues": {"train": 3, "val": 2, "test": 2}, "width": 64, "height": 48, "fps": 10}}},
    "table": {"synthetic": {"seed": 5, "table": {"n_files": {"train": 28, "test": 4}}}},  # 28: at least one clip per class in val and test
}
SMALL = {"spectrogram": {"seconds": 4}, "rawwave": {"seconds": 4}, "frames": {"per_clip": 2, "height": 36, "width": 64}}
EPOCHS = {"max_epochs": 2, "patience": 1}
MODELS = {
    "meld": {
        "enabled": ["vggish_head", "clip_cam_cnn", "fusion", "aligned_gru", "crossmodal_attention", "knn", "egemaps_linear", "audiovisual_text_linear"],
        "vggish_head": {"hidden_units": 16, **EPOCHS},
        "clip_cam_cnn": {"filters": [8, 16], "init_from": "", **EPOCHS},
        "fusion": {"crop": 32, "vgg_filters": [8], **EPOCHS},
        "aligned_gru": {"units": 8, **EPOCHS},
        "crossmodal_attention": {"units": 8, **EPOCHS},
    },
    "table": {"enabled": ["clip_cnn", "knn", "egemaps_linear"], "clip_cnn": {"filters": [8, 16], "dense_units": 16, **EPOCHS}},
}
"""A Keras model, KNN and the eGeMAPS baseline per kind (a CAM model, the fusion, the two sequence models and the
audio-video-text linear model where there is video), two epochs each."""
CLASSES = {"meld": synthetic_meld.EMOTIONS, "table": synthetic_table.CLASSES}


EXAMPLES = {
    "meld": yaml.safe_load((REPO / "config.yaml").read_text())["datasets"][1],
    "table": {k: v for k, v in yaml.safe_load((REPO / "configs" / "synthetic_table.yaml").read_text()).items() if k != "datasets"},
}
"""Each kind's embedded example as a `datasets` entry: config.yaml's MELD-layout set, configs/synthetic_table.yaml."""


def snakemake(workdir, kind, *args, extra=None):
    """Run the workflow on the kind's example alone, made tiny (and `extra` laid over it)."""
    entry = merged(merged(EXAMPLES[kind], {**TINY[kind], **SMALL, "models": MODELS[kind], "cam": {"top_k": 2}}), extra or {})
    (workdir / "tiny.yaml").write_text(yaml.safe_dump({"datasets": [entry], "vggish": {"batch_size": 16}}))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2"]
    command += ["--configfile", str(workdir / "tiny.yaml"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module", params=["meld", "table"])
def kind_run(request, tmp_path_factory):
    kind = request.param
    workdir = tmp_path_factory.mktemp(f"workflow_{kind}")
    result = snakemake(workdir, kind)
    assert result.returncode == 0, result.stderr[-5000:]
    return kind, workdir, workdir / "results" / f"synthetic_{kind}"


def planned(kind):
    module = {"meld": synthetic_meld, "table": synthetic_table}[kind]
    return module.plan({"seed": TINY[kind]["synthetic"]["seed"], **TINY[kind]["synthetic"][kind]})


def families(kind):
    return ["logmel", "mfcc", "spectrogram", "rawwave", "egemaps", "vggish"] + (["frames", "aligned"] if kind == "meld" else [])  # aligned: its sequence models


def test_every_generated_clip_is_in_the_sheet_and_the_manifest(kind_run):
    kind, _, run = kind_run
    sheet, manifest, excluded = (read_manifest(run / name) for name in ("clips.tsv", "manifest.tsv", "excluded.tsv"))
    plan = planned(kind)
    assert len(sheet) == len(plan) and excluded.empty and sorted(manifest["clip_id"]) == sorted(sheet["clip_id"])
    by_path = sheet.set_index("path")
    for item in plan:
        row = by_path.loc[f"results/synthetic_{kind}/raw/{item.relpath}"]
        if kind == "meld":
            assert row["clip_id"] == item.clip_id and row["split"] == item.split
            assert (row["emotion"], row["sentiment"], row["speaker"], row["text"]) == (item.emotion, item.sentiment, item.speaker, item.text)
        else:
            labelled = item.table == "train.csv"
            assert row["file"] == item.relpath and (row["split"] == "predict") != labelled, (item, row.to_dict())
            assert (row["emotion"] == item.emotion) if labelled else pd.isna(row["emotion"]), (item, row.to_dict())
    if kind == "meld":
        assert any("’" in text for text in sheet.loc[sheet["split"] == "test", "text"])  # cp1252 \x92, read back
        assert set(sheet["split"]) == {"train", "val", "test"}
    else:
        counts = sheet[sheet["split"] != "predict"].groupby(["split", "emotion"]).size()
        assert set(sheet["split"]) == {"train", "val", "test", "predict"} and counts.loc["train"].min() >= 2  # stratified


def test_the_probe_agrees_with_what_was_generated(kind_run):
    kind, _, run = kind_run
    manifest = read_manifest(run / "manifest.tsv").set_index("path")
    for item in planned(kind):
        row = manifest.loc[f"results/synthetic_{kind}/raw/{item.relpath}"]
        assert abs(row["audio_duration_s"] - item.duration_s) < 0.1
        assert bool(row["has_video"]) == (kind == "meld")
        if kind == "table":
            assert (row["audio_rate"], row["audio_channels"]) == (item.sample_rate, item.channels)


def test_every_cache_its_modalities_allow_holds_every_clip(kind_run):
    kind, _, run = kind_run
    manifest = read_manifest(run / "manifest.tsv")
    assert (run / "features" / "frames").exists() == (kind == "meld")
    for family in families(kind):
        for shard, rows in manifest.groupby("shard"):
            with CacheReader(run / "features" / family / f"{shard}.h5") as cache:
                assert sorted(cache.clip_ids) == sorted(rows["clip_id"]) and cache.failed == {}
    assert (run / "features" / "aligned").exists() == (kind == "meld")  # built where a sequence model reads it
    for shard in manifest["shard"].unique() if kind == "meld" else []:
        with CacheReader(run / "features" / "aligned" / f"{shard}.h5") as cache:
            assert cache.params["video"] is not None and cache.params["text"] is not None
            names = ["audio", "mask", "video", "text", "tokens", "token_times", "token_steps", "placement"]
            assert all(len(cache.all(name)) == len(cache.clip_ids) for name in names)
            assert {int(code) for (code,) in cache.all("placement")} == {1}  # every utterance's words placed on its voice
    for row in manifest.itertuples():
        with CacheReader(run / "features" / "logmel" / f"{row.shard}.h5") as cache:
            frames = 1 + (int(round(row.audio_duration_s * 16000)) - 400) // 160  # 25 ms windows every 10 ms
            assert abs(len(cache.get("vggish_examples", row.clip_id)) - frames // 96) <= 1
        with CacheReader(run / "features" / "vggish" / f"{row.shard}.h5") as cache:
            assert np.isfinite(cache.get("embeddings", row.clip_id)).all()


def test_every_model_gives_every_clip_it_can_read_class_probabilities(kind_run):
    kind, _, run = kind_run
    manifest = read_manifest(run / "manifest.tsv")
    classes = CLASSES[kind]
    for model in MODELS[kind]["enabled"]:
        excluded = set(read_manifest(run / "models" / model / "excluded.tsv")["clip_id"])
        for split in ("train", "val", "test"):
            table = pd.read_csv(run / "models" / model / f"predictions_{split}.csv")
            expected = manifest.loc[(manifest["split"] == split) & ~manifest["clip_id"].isin(excluded), "clip_id"]
            assert sorted(table["clip_id"]) == sorted(expected), (model, split)
            probabilities = table[[f"p_{c}" for c in classes]].to_numpy()
            np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
            # the predicted class is the most probable one (a tie at the file's 6 decimals may go either way)
            chosen = probabilities[np.arange(len(table)), [classes.index(c) for c in table["emotion_pred"]]]
            np.testing.assert_allclose(chosen, probabilities.max(axis=1), rtol=0, atol=2e-6)
            truth = manifest.set_index("clip_id").loc[table["clip_id"], "emotion"]
            assert list(table["emotion_true"]) == list(truth)


def test_cam_maps_are_drawn_per_class_of_the_classes_logits(kind_run):
    kind, _, run = kind_run
    if kind != "meld":
        pytest.skip("the table run has no CAM model")
    with h5py.File(run / "cam" / "clip_cam_cnn" / "cams.h5") as h5:
        assert set(CLASSES["meld"]) <= set(h5) and json.loads(h5.attrs["params"])["units"] == "class logits"
        assert json.loads(h5.attrs["params"])["identity_max_abs_error"] < 1e-4
    assert all((run / "cam" / "clip_cam_cnn" / "galleries" / f"{c}.png").stat().st_size > 0 for c in CLASSES["meld"])


def test_the_submission_lists_every_unlabelled_file_once_with_a_class(kind_run):
    kind, _, run = kind_run
    if kind != "table":
        pytest.skip("MELD has no unlabelled clips")
    submission = pd.read_csv(run / "submission.csv")
    unlabelled = [clip.relpath for clip in planned("table") if clip.table == "test.csv"]
    assert list(submission.columns) == ["file", "emotion"]
    assert sorted(submission["file"]) == sorted(unlabelled)
    assert set(submission["emotion"]) <= set(CLASSES["table"])


def test_a_second_run_has_nothing_to_do(kind_run):
    kind, workdir, _ = kind_run
    result = snakemake(workdir, kind, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "kind, extra, message",
    [
        (
            "table",
            {"models": {"enabled": ["fusion"]}},
            "models.enabled: fusion needs video, and dataset synthetic_table (table) has none; remove it from models.enabled",
        ),
        (
            "meld",
            {"dataset": {"task": {"target": "speaker"}}},
            "dataset.task.target: 'speaker' is not among the meld dataset's labels ['emotion', 'sentiment']",
        ),
        ("table", {"dataset": {"task": {"classes": []}}}, "dataset.task.classes: the table dataset's target 'emotion' needs its class list"),
        ("meld", {"dataset": {"task": {"type": "ordinal"}}}, "dataset.task.type: 'ordinal' is not a task; choose one of regression, classification"),
    ],
)
def test_what_the_dataset_cannot_feed_or_learn_is_refused_in_one_line_before_any_job(tmp_path, kind, extra, message):
    result = snakemake(tmp_path, kind, "-n", extra=extra)
    assert result.returncode != 0 and message in result.stdout + result.stderr
