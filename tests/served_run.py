"""A finished run in miniature for the web page's tests: a few real clips through the pipeline's
own stages (wav, log-mel, spectrograms, raw-wave), CAM models trained for a couple of epochs on
their traits (and one on an emotion, a classification task), and their predictions and metrics
written as the train and evaluate rules write them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import yaml

from conftest import make_clip
from impressions import SPLITS, TRAITS
from impressions.data import plan
from impressions.data.media import decode_shard
from impressions.features.audio_stage import logmel_cache, rawwave_cache, spectrogram_cache
from impressions.io.atomic import write_json
from impressions.models.metrics import evaluate, read_predictions
from impressions.models.task import FIRST_IMPRESSIONS, Task
from impressions.models.train import train_model
from impressions.web.config import dataset_configs, run_config

DATASET = "served"
EMOTION_DATASET = "served_emotion"
EMOTION = Task("classification", ("emotion",), ("calm", "happy", "sad"), metric="accuracy")
MODELS = ("summary_cam_cnn", "rawwav_cam_cnn")
SMALL = {"filters": [4, 8], "max_epochs": 2, "patience": 1, "batch_size": 4}
SPLIT_SIZES = {"train": 6, "val": 2, "test": 2}


def overlay() -> dict:
    """The run's config file, laid over config.yaml: a trait dataset with the two CAM models, and an
    emotion dataset (classification) with one, all small."""
    return {
        "datasets": [{}, {"dataset": {"name": EMOTION_DATASET}, "models": {"enabled": [MODELS[0]]}}],
        "dataset": {"name": DATASET},
        "synthetic": {"enabled": False},
        "models": {"enabled": list(MODELS), "summary_cam_cnn": {**SMALL, "init_from": ""}, "rawwav_cam_cnn": SMALL},
    }


def build(folder: Path) -> SimpleNamespace:
    """Make the clips and the run under `folder`; return its configs, results, clips and manifests."""
    configfile = folder / "served.yaml"
    configfile.write_text(yaml.safe_dump(overlay()))
    configs = dataset_configs(run_config([configfile]))
    rng = np.random.default_rng(7)
    rows, clips = [], {}
    for split, count in SPLIT_SIZES.items():
        for i in range(count):
            clip_id = f"{split}{i}"
            clips[clip_id] = str(make_clip(folder / "clips" / f"{clip_id}.mp4", seconds=6.0, tone_hz=220.0 + 110 * len(clips)))
            labels = {**dict(zip(TRAITS, rng.uniform(0.2, 0.8, 5))), "emotion": EMOTION.classes[i % len(EMOTION.classes)]}
            rows.append({"clip_id": clip_id, "split": split, "shard": "000", "path": clips[clip_id], **labels})
    manifest = pd.DataFrame(rows)
    for config, task in zip(configs, (FIRST_IMPRESSIONS, EMOTION)):
        _run(folder / "results" / config["dataset"]["name"], config, manifest, clips, task)
    return SimpleNamespace(configs=configs, config=configs[0], results=folder / "results", root=folder / "results" / DATASET, clips=clips, manifest=manifest)


def _run(root: Path, config: dict, manifest: pd.DataFrame, clips: dict[str, str], task: Task) -> None:
    """One dataset's run: its manifest, wav files, caches, trained models, predictions and metrics."""
    root.mkdir(parents=True)
    manifest.to_csv(root / "manifest.tsv", sep="\t", index=False)
    quiet = dict(log=lambda _: None)
    wav = root / "wav" / "000"
    decode_shard(clips, wav, **quiet)
    caches = {family: root / "features" / family / "000.h5" for family in ("logmel", "spectrogram", "rawwave")}
    for path in caches.values():
        path.parent.mkdir(parents=True)
    logmel_cache(list(clips), wav, caches["logmel"], **quiet)
    spectrogram_cache(caches["logmel"], caches["spectrogram"], seconds=config["spectrogram"]["seconds"], pool=config["spectrogram"]["summary_pool"], **quiet)
    rawwave_cache(list(clips), wav, caches["rawwave"], **quiet, **config["rawwave"])
    for name in config["models"]["enabled"]:
        folder_of = root / "models" / name
        folder_of.mkdir(parents=True)
        outputs = SimpleNamespace(
            model=folder_of / "model.keras",
            history=folder_of / "history.csv",
            excluded=folder_of / "excluded.tsv",
            predictions=[folder_of / f"predictions_{split}.csv" for split in SPLITS],
        )
        family = "spectrogram" if name == "summary_cam_cnn" else "rawwave"
        settings = plan.model_settings(config, name)
        train_model(
            name,
            manifest=root / "manifest.tsv",
            caches={family: [str(caches[family])]},
            settings=settings,
            seed=0,
            threads=1,
            outputs=outputs,
            task=task,
            **quiet,
        )
        predictions = {split: read_predictions(path, task) for split, path in zip(SPLITS, outputs.predictions)}
        write_json(folder_of / "metrics.json", evaluate(predictions, task=task, resampling={"resamples": 20, "level": 0.95, "seed": 0}))
