"""Exact staleness: what a change to the code, the config or the clips makes Snakemake rerun.

The workflow is copied into a temporary folder and run once over a folder of clips (the way a
user's own dataset is read); each test then changes one thing and reads the dry run's plan.
"""

import json
import os
import pickle
import random
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import copy_workflow
from impressions.data import synthetic as synth
from impressions.data.clips import shard_of
from workflow_rules import REPO

N_SHARDS = 4
CLIPS = {
    "seed": 3,
    "n_clips": {"train": 8, "val": 3, "test": 3},
    "duration_s": 6.0,
    "n_short": 0,
    "n_silent": 0,
    "width": 160,
    "height": 90,
    "fps": 10,
    "signal_r2": 0.8,
}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("staleness")
    copy_workflow(root)
    synth.generate(root / "data", CLIPS, threads=2, log=lambda _: None)
    tiny = yaml.safe_load((REPO / "tests" / "tiny_config.yaml").read_text())
    tiny["dataset"] = {"name": "user", "root": "data", "n_shards": N_SHARDS}
    tiny["synthetic"] = {"enabled": False}
    (root / "config.yaml").write_text(yaml.safe_dump(tiny))
    result = snakemake(root)
    assert result.returncode == 0, result.stderr[-5000:]
    assert nothing_to_do(root)
    return root


def snakemake(root: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=1200)


def nothing_to_do(root: Path) -> bool:
    result = snakemake(root, "-n")
    return "Nothing to be done" in result.stdout + result.stderr


def planned_jobs(root: Path, *args: str) -> set[tuple[str, str]]:
    """(rule, shard or model or '') of every job a dry run would run."""
    result = snakemake(root, "-n", *args)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    jobs = set()
    for block in re.split(r"^(?:local)?rule ", result.stdout, flags=re.MULTILINE)[1:]:
        rule = block.split(":", 1)[0]
        which = re.search(r"(?:shard|model)=(\w+)", block)
        jobs.add((rule, which.group(1) if which else ""))
    return jobs


ENSEMBLE_JOBS = {("ensemble", "ensemble"), ("evaluate", "ensemble"), ("plot_predictions", "ensemble")}
"""What a change to any member reruns besides: the ensemble (its members are every other model), its metrics and plot."""


def rules_of(jobs):
    return {rule for rule, _ in jobs}


def test_touching_a_library_module_reruns_exactly_the_rules_that_import_it(workflow):
    module = workflow / "src" / "impressions" / "features" / "audio_stage.py"
    before = module.stat()
    try:
        module.touch()
        jobs = planned_jobs(workflow)
        why = snakemake(workflow, "-n").stdout
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    shards = {f"{i:03d}" for i in range(N_SHARDS)}
    # audio_stage.py is imported by the scripts of logmel, mfcc, spectrograms and rawwave, and by egemaps.py
    for rule in ("logmel", "mfcc", "spectrograms", "rawwave", "egemaps"):
        assert {shard for r, shard in jobs if r == rule} == shards
    downstream = {"embed", "mfcc_length", "train", "train_sklearn", "evaluate", "cam", "plot_samples", "plot_training", "plot_predictions", "summary", "all"}
    downstream |= {"exclusions", "ensemble", "attention"}  # excluded.tsv reads every cache's failures; the ensemble, every model's predictions
    assert rules_of(jobs) == {"logmel", "mfcc", "spectrograms", "rawwave", "egemaps"} | downstream
    # the dry run says why: each of those jobs' reason names the module
    reasons = [line for line in why.splitlines() if line.strip().startswith("reason: Updated input files")]
    assert reasons and all("src/impressions/features/audio_stage.py" in line for line in reasons)
    assert nothing_to_do(workflow)


def touched(workflow: Path, relpath: str) -> set[tuple[str, str]]:
    """The jobs a dry run plans after `relpath` (under src/impressions) is touched; then untouched."""
    module = workflow / "src" / "impressions" / relpath
    before = module.stat()
    try:
        module.touch()
        return planned_jobs(workflow)
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_touching_a_builder_module_retrains_exactly_the_models_it_builds(workflow):
    jobs = touched(workflow, "models/cnn.py")
    cnns = {"clip_cnn", "clip_cam_cnn", "summary_cnn", "summary_cam_cnn", "rawwav_cam_cnn"}
    assert {model for rule, model in jobs if rule == "train"} == cnns  # not vggish_head (head.py) nor fusion (fusion.py)
    assert {model for rule, model in jobs if rule == "cam"} == {"clip_cam_cnn", "summary_cam_cnn", "rawwav_cam_cnn"}
    assert rules_of(jobs) == {"train", "ensemble", "evaluate", "cam", "plot_training", "plot_predictions", "summary", "all"}  # ensemble: their predictions
    assert nothing_to_do(workflow)


def test_touching_a_package_init_reruns_the_rules_that_import_from_the_package(workflow):
    # cam/__init__.py runs whenever anything of impressions.cam is imported: by the cam rule only
    jobs = touched(workflow, "cam/__init__.py")
    assert rules_of(jobs) == {"cam", "attention", "summary", "all"}  # the attention rule imports impressions.cam too
    assert {model for rule, model in jobs if rule == "cam"} == {"clip_cam_cnn", "summary_cam_cnn", "rawwav_cam_cnn"}
    assert nothing_to_do(workflow)


def test_editing_one_registry_entry_reruns_only_that_models_jobs(workflow):
    registry = workflow / "src" / "impressions" / "models" / "registry.py"
    original, stat = registry.read_text(), registry.stat()
    assert original.count('exclusion_reason="no VGGish embedding"') == 1  # knn's entry
    try:
        registry.write_text(original.replace('exclusion_reason="no VGGish embedding"', 'exclusion_reason="no VGGish window"'))
        jobs = planned_jobs(workflow)
        why = snakemake(workflow, "-n").stdout
    finally:
        registry.write_text(original)
        os.utime(registry, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert jobs == {("train_sklearn", "knn"), ("evaluate", "knn"), ("plot_predictions", "knn"), *ENSEMBLE_JOBS, ("summary", ""), ("all", "")}
    assert "Params have changed" in why
    assert nothing_to_do(workflow)


RIDGE_BUILDER = """from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def ridge(*, alpha=1.0, classification=False):
    return make_pipeline(StandardScaler(), LogisticRegression(C=1 / alpha) if classification else Ridge(alpha=alpha))
"""
KNN_ENTRY = 'ModelSpec("knn", "sklearn", "knn.knn", ("vggish",), instances.windows, exclusion_reason="no VGGish embedding"),'


def test_adding_a_model_takes_four_files_and_reruns_nothing_but_its_own_jobs(workflow):
    """The recipe of docs/DEVELOPING.md: a builder, a registry entry, a config section, a schema entry."""
    registry, config, schema = (workflow / p for p in ("src/impressions/models/registry.py", "config.yaml", "schemas/config.schema.yaml"))
    builder = workflow / "src" / "impressions" / "models" / "ridge_example.py"
    saved = {path: (path.read_text(), path.stat()) for path in (registry, config, schema)}
    try:
        builder.write_text(RIDGE_BUILDER)
        assert KNN_ENTRY in saved[registry][0]
        ridge_entry = KNN_ENTRY.replace('"knn", ', '"ridge", ', 1).replace("knn.knn", "ridge_example.ridge")
        registry.write_text(saved[registry][0].replace(KNN_ENTRY, f"{KNN_ENTRY}\n        {ridge_entry}"))
        settings = yaml.safe_load(saved[config][0])
        defaults = yaml.safe_load(saved[schema][0])
        models = defaults["properties"]["models"]["properties"]
        enabled = settings.get("models", {}).get("enabled") or models["enabled"]["default"]
        settings["models"] = {**settings.get("models", {}), "enabled": [*enabled, "ridge"], "ridge": {"alpha": 10.0}}
        models["ridge"] = {"description": "ridge", "type": "object", "default": {}, "properties": {"alpha": {"type": "number", "default": 1.0}}}
        config.write_text(yaml.safe_dump(settings, sort_keys=False))
        schema.write_text(yaml.safe_dump(defaults, sort_keys=False))
        jobs = planned_jobs(workflow)
        assert jobs == {("train_sklearn", "ridge"), ("evaluate", "ridge"), ("plot_predictions", "ridge"), *ENSEMBLE_JOBS, ("summary", ""), ("all", "")}
        result = snakemake(workflow)
        assert result.returncode == 0, result.stderr[-3000:]
        metrics = json.loads((workflow / "results" / "user" / "models" / "ridge" / "metrics.json").read_text())
        assert metrics["model"] == "ridge" and 0.5 < metrics["splits"]["test"]["model"]["mean"]["one_minus_mae"] <= 1
        assert "ridge" in (workflow / "results" / "user" / "summary.md").read_text()
    finally:
        builder.unlink(missing_ok=True)
        for path, (text, stat) in saved.items():
            path.write_text(text)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert planned_jobs(workflow) == {*ENSEMBLE_JOBS, ("summary", ""), ("all", "")}  # the page, and the ensemble, without ridge again
    assert snakemake(workflow).returncode == 0 and nothing_to_do(workflow)


def test_changing_n_mfcc_reruns_the_mfcc_stage_and_its_readers_only(workflow):
    (workflow / "n_mfcc_13.yaml").write_text("mfcc:\n  n_mfcc: 13\n")
    jobs = planned_jobs(workflow, "--configfile", "config.yaml", "n_mfcc_13.yaml")
    assert {shard for rule, shard in jobs if rule == "mfcc"} == {f"{i:03d}" for i in range(N_SHARDS)}
    expected = {"mfcc", "mfcc_length", "train", "ensemble", "evaluate", "plot_samples", "plot_training", "plot_predictions", "exclusions", "summary", "all"}
    assert rules_of(jobs) == expected | {"attention"}  # excluded.tsv reads every cache's failures; crossmodal_attention's attention
    # fusion and crossmodal_attention read MFCCs (and the ensemble their predictions); the sample clips figure shows them
    trained = {model for rule, model in jobs if rule in ("train", "evaluate", "plot_training", "plot_predictions")}
    assert trained == {"fusion", "crossmodal_attention", "ensemble"}
    assert not rules_of(jobs) & {"wav", "frames", "logmel", "spectrograms", "rawwave", "embed", "probe"}


def new_clip_names(count: int, shards: set[str]) -> list[str]:
    """ChaLearn-style names whose shard is one of `shards`."""
    rng, names = random.Random(0), []
    while len(names) < count:
        name = "".join(rng.choices(string.ascii_letters + string.digits, k=11)) + ".000"
        if shard_of(name, N_SHARDS) in shards:
            names.append(name)
    return names


def test_adding_five_clips_reruns_only_the_shards_that_receive_them(workflow):
    data = workflow / "data"
    template = next((data / "train").glob("*.mp4"))
    names = new_clip_names(5, {"000", "002"})
    with open(data / "annotation_training.pkl", "rb") as handle:
        labels = pickle.load(handle, encoding="latin1")
    annotations = data / "annotation_training.pkl"
    original_labels, original_stat = annotations.read_bytes(), annotations.stat()
    try:
        for name in names:
            shutil.copy(template, data / "train" / f"{name}.mp4")
            for scores in labels.values():
                scores[f"{name}.mp4"] = 0.5
        with open(annotations, "wb") as handle:
            pickle.dump(labels, handle, protocol=2)
        jobs = planned_jobs(workflow)
    finally:
        for name in names:
            (data / "train" / f"{name}.mp4").unlink()
        annotations.write_bytes(original_labels)
        os.utime(annotations, ns=(original_stat.st_atime_ns, original_stat.st_mtime_ns))
    receiving = {shard_of(name, N_SHARDS) for name in names}
    shard_jobs = {(rule, shard) for rule, shard in jobs if shard.isdigit()}
    assert {shard for _, shard in shard_jobs} == receiving
    for rule in ("probe", "wav", "logmel", "mfcc", "spectrograms", "rawwave", "egemaps", "frames", "embed"):
        assert {shard for r, shard in shard_jobs if r == rule} == receiving, rule
    assert {"sheet", "manifest", "exclusions", "train"} <= rules_of(jobs)
