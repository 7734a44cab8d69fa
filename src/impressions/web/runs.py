"""The trained models of a finished run that the web page serves, each loaded once at start.

A model is served when its dataset is in the config, it is a Keras model whose cache families
the page can compute from a clip, and its run left ``model.keras``, ``metrics.json`` (the task
it was scored on) and the caches it was trained on (their parameters). Everything the page
shows of a model comes from these files; no request names a file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from impressions.cam.maps import CamView, feature_model, output_weights, view
from impressions.data import plan
from impressions.data.clips import read_manifest
from impressions.features.vggish import Embedder, load_embedder
from impressions.io.cache import CacheReader
from impressions.models import registry
from impressions.models.inputs import ClipSource
from impressions.models.saved import load_model
from impressions.models.task import Task
from impressions.models.train import TargetScale
from impressions.web.features import SERVED_FAMILIES

log = logging.getLogger("impressions.web")


@dataclass
class Cam:
    """A CAM model's parts: the model with its last conv maps as a second output, and its output layer."""

    model: keras.Model
    kernel: np.ndarray
    bias: np.ndarray
    view: CamView


@dataclass
class ServedModel:
    """One trained model of one dataset, ready to answer.

    Attributes
    ----------
    params : family -> the parameters its run's cache was computed with
    scale : the target scaling it was trained with (its predictions are scaled back)
    train : the training split's labels (regression: one column per trait), for percentiles
    embedder : the VGGish cache's ``embedder`` attribute (source, pretrained, description)
    min_duration_s : the dataset's shortest usable clip (the probe stage's rule)
    sample_rate : the rate of the wav stage's audio (config ``audio.sample_rate``)
    """

    dataset: str
    name: str
    task: Task
    model: keras.Model
    settings: dict
    params: dict[str, dict]
    scale: TargetScale
    train: pd.DataFrame
    embedder: dict
    min_duration_s: float
    sample_rate: int
    weights: str
    vggish: Embedder | None = None
    cam: Cam | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"

    @property
    def reads_vggish(self) -> bool:
        return "vggish" in registry.spec(self.name).families


def _first_cache(root: Path, family: str) -> Path | None:
    shards = sorted((root / "features" / family).glob("*.h5"))
    return shards[0] if shards else None


def _cache_params(root: Path, family: str) -> dict:
    path = _first_cache(root, family)
    with CacheReader(path) as reader:
        return reader.params


def _unservable(root: Path, name: str) -> str:
    """Why a model of a run cannot be served ("" when it can)."""
    spec = registry.spec(name)
    if spec.framework != "keras":
        return f"a {spec.framework} model (the page serves the Keras models)"
    lacking = [family for family in spec.families if family not in SERVED_FAMILIES]
    if lacking:
        return f"reads {', '.join(lacking)}, which the page cannot compute from a clip"
    needed = [root / "models" / name / "model.keras", root / "models" / name / "metrics.json", root / "manifest.tsv"]
    needed += [root / "features" / "mfcc_length.json"] if "mfcc_length" in spec.input_settings else []
    missing = [str(path) for path in needed if not path.is_file()]
    missing += [f"{root}/features/{family}/*.h5" for family in spec.families if _first_cache(root, family) is None]
    return f"not trained yet: no {', '.join(missing)}" if missing else ""


def served_model(config: dict, root: Path, name: str, embedders: dict) -> ServedModel:
    """Load one model of a dataset's run (`root` is its ``results/<dataset>``)."""
    spec = registry.spec(name)
    settings = plan.model_settings(config, name)
    if "mfcc_length" in spec.input_settings:
        settings["mfcc_length"] = json.loads((root / "features" / "mfcc_length.json").read_text())["frames"]
    task = Task.from_params(json.loads((root / "models" / name / "metrics.json").read_text())["task"])
    if task.classification:
        settings = {**settings, "standardize_targets": False}
    manifest = read_manifest(root / "manifest.tsv")
    train = ClipSource(name, manifest[manifest["split"] == "train"], {}, settings, task)
    params = {family: _cache_params(root, family) for family in spec.families}
    weights = root / "models" / name / "model.keras"
    model = load_model(name, weights)
    served = ServedModel(
        dataset=config["dataset"]["name"],
        name=name,
        task=task,
        model=model,
        settings=settings,
        params=params,
        scale=TargetScale(train.targets(), settings.get("standardize_targets", False)),
        train=train.rows,
        embedder=_cache_params(root, "vggish")["embedder"] if _first_cache(root, "vggish") else {},
        min_duration_s=config["dataset"]["min_duration_s"],
        sample_rate=config["audio"]["sample_rate"],
        weights=str(weights),
    )
    if "vggish" in spec.families:
        key = json.dumps(params["vggish"], sort_keys=True)
        if key not in embedders:
            vggish = params["vggish"]
            embedders[key] = load_embedder(
                source=vggish["embedder"]["source"], hub_handle=vggish["hub_handle"], seed=vggish["seed"], savedmodel=vggish["savedmodel"]
            )
        served.vggish = embedders[key]
    if spec.cam is not None:
        kernel, bias = output_weights(model)
        (family,) = spec.families
        served.cam = Cam(feature_model(model), kernel, bias, view(spec.cam, params[family]))
    return served


def load_served(configs: list[dict], results: str | os.PathLike) -> dict[str, ServedModel]:
    """Every servable model of each dataset's config (`impressions.web.config.dataset_configs`)
    under `results`, by ``<dataset>/<model>``; each model left out is logged with the reason."""
    served, embedders = {}, {}
    for dataset_config in configs:
        root = Path(results) / dataset_config["dataset"]["name"]
        for name in dataset_config["models"]["enabled"]:
            reason = _unservable(root, name)
            if reason:
                log.info("not served: %s/%s, %s", root.name, name, reason)
                continue
            model = served_model(dataset_config, root, name, embedders)
            served[model.key] = model
            log.info("serving %s (%s, %s)", model.key, model.task.type, model.weights)
    return served
