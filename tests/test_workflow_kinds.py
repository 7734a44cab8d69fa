"""End to end on the two other dataset kinds' embedded examples (MELD layout, audio table): the
sheet, the manifest and every cache their modalities allow, checked against the generators' plans."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from impressions.data import synthetic_meld, synthetic_table
from impressions.data.clips import read_manifest
from impressions.io.cache import CacheReader
from workflow_rules import REPO

TINY = {
    "meld": {"synthetic": {"seed": 5, "meld": {"n_dialogues": {"train": 3, "val": 2, "test": 2}, "width": 64, "height": 48, "fps": 10}}},
    "table": {"synthetic": {"seed": 5, "table": {"n_files": {"train": 28, "test": 4}}}},  # 28: at least one clip per class in val and test
}
SMALL = {"spectrogram": {"seconds": 4}, "rawwave": {"seconds": 4}, "frames": {"per_clip": 2, "height": 36, "width": 64}, "vggish": {"batch_size": 16}}


def snakemake(workdir, kind, *args):
    (workdir / "tiny.yaml").write_text(yaml.safe_dump({**TINY[kind], **SMALL}))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2"]
    command += ["--configfile", str(REPO / "configs" / f"synthetic_{kind}.yaml"), str(workdir / "tiny.yaml"), *args]
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
    return ["logmel", "mfcc", "spectrogram", "rawwave", "vggish"] + (["frames"] if kind == "meld" else [])


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
    for row in manifest.itertuples():
        with CacheReader(run / "features" / "logmel" / f"{row.shard}.h5") as cache:
            frames = 1 + (int(round(row.audio_duration_s * 16000)) - 400) // 160  # 25 ms windows every 10 ms
            assert abs(len(cache.get("vggish_examples", row.clip_id)) - frames // 96) <= 1
        with CacheReader(run / "features" / "vggish" / f"{row.shard}.h5") as cache:
            assert np.isfinite(cache.get("embeddings", row.clip_id)).all()


def test_a_second_run_has_nothing_to_do(kind_run):
    kind, workdir, _ = kind_run
    result = snakemake(workdir, kind, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "kind, model, message",
    [
        ("table", "fusion", "models.enabled: fusion needs video, and dataset synthetic_table (table) has none; remove it from models.enabled"),
        ("meld", "knn", "models.enabled: knn learns the Big Five traits, and dataset synthetic_meld (meld) has labels emotion, sentiment"),
    ],
)
def test_a_model_the_dataset_cannot_feed_is_refused_before_any_job(tmp_path, kind, model, message):
    (tmp_path / "models.yaml").write_text(yaml.safe_dump({"models": {"enabled": [model]}}))
    result = snakemake(
        tmp_path, kind, "-n", "--configfile", str(REPO / "configs" / f"synthetic_{kind}.yaml"), str(tmp_path / "tiny.yaml"), str(tmp_path / "models.yaml")
    )
    assert result.returncode != 0 and message in result.stdout + result.stderr
