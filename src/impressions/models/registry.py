"""The model registry: every fact about a model in one entry, read by the rules, training, the
cam stage and the summary, so that nothing else branches on a model's name.

The registry imports neither Keras nor TensorFlow (the workflow reads it when it parses the
DAG); a builder's module is imported only when the model is built or loaded. Rules list that
module among a training job's code, so editing it retrains exactly the models it builds, and
a job's params hold its model's entry (`ModelSpec.describe`) in place of this file, so adding
or editing one entry reruns only that model's jobs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from impressions.io.errors import InputError
from impressions.models import instances

FRAMEWORKS = ("keras", "sklearn")
TASKS = ("regression",)


def no_shapes(instance) -> dict:
    """For a builder that takes no input shapes (the scikit-learn models)."""
    return {}


@dataclass(frozen=True)
class CamSpec:
    """How a CAM model's maps are laid out: over (time, mel band), or over time only.

    Attributes
    ----------
    spectrogram : True for (time, band) inputs, False for 1-D inputs (time only)
    frame_s : cache params -> seconds per frame along the displayed time axis
    """

    spectrogram: bool
    frame_s: Callable[[dict], float]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the pipeline asks about one model.

    Attributes
    ----------
    name : the key in config.yaml (``models.enabled``, ``models.<name>``) and in result paths
    framework : "keras" (rule ``train``, a GPU job) or "sklearn" (rule ``train_sklearn``)
    builder : "<module>.<function>" in `impressions.models`; keyword-only settings -> a model
    families : the cache families it reads (folders under ``features/``)
    instances : (readers, clip_id, settings) -> the clip's instances (`impressions.models.instances`)
    exclusion_reason : why a clip can give no instance (for the model's excluded.tsv)
    input_shapes : the first training instance -> the builder's input-shape arguments (Keras)
    cam : how its class activation maps are laid out; None for a model without CAMs
    init_from : models whose trained conv weights it may start from (config ``init_from``)
    tasks : the tasks it supports
    """

    name: str
    framework: str
    builder: str
    families: tuple[str, ...]
    instances: Callable[[instances.Readers, str, dict], list]
    exclusion_reason: str = ""
    input_shapes: Callable[[Any], dict] = no_shapes
    cam: CamSpec | None = None
    init_from: tuple[str, ...] = ()
    tasks: tuple[str, ...] = TASKS

    @property
    def builder_module(self) -> str:
        return f"impressions.models.{self.builder.rsplit('.', 1)[0]}"

    def builder_file(self) -> Path:
        """The source file of the builder's module (a training rule's code)."""
        return Path(__file__).parent / f"{self.builder.rsplit('.', 1)[0]}.py"

    def describe(self) -> dict:
        """The entry as plain values (functions by qualified name): a job's params, so that
        editing one entry reruns that model's jobs and adding an entry reruns none."""

        def named(function):
            return f"{function.__module__}.{function.__qualname__}"

        cam = None if self.cam is None else {"spectrogram": self.cam.spectrogram, "frame_s": named(self.cam.frame_s)}
        return {
            "framework": self.framework,
            "builder": self.builder,
            "families": list(self.families),
            "instances": named(self.instances),
            "exclusion_reason": self.exclusion_reason,
            "input_shapes": named(self.input_shapes),
            "cam": cam,
            "init_from": list(self.init_from),
            "tasks": list(self.tasks),
        }

    def build(self, **settings):
        """Build the model; importing its module also registers its custom Keras layers."""
        module, function = self.builder.rsplit(".", 1)
        return getattr(importlib.import_module(self.builder_module), function)(**settings)


def _flat_input(instance) -> dict:
    return {"input_dim": instance.shape[0]}


def _spectrogram_input(instance) -> dict:
    frames, bands = instance.shape
    return {"frames": frames, "bands": bands}


def _rawwave_input(instance) -> dict:
    frames, bins = instance.shape
    return {"frames": frames, "bins": bins}


def _fusion_inputs(instance) -> dict:
    return {"mfcc_shape": tuple(instance["mfcc"].shape), "frames_shape": tuple(instance["frames"].shape)}


def _patch_frame_s(params: dict) -> float:
    return params["vggish_front_end"]["hop_s"]


def _summary_frame_s(params: dict) -> float:
    return params["vggish_front_end"]["hop_s"] * params["summary_pool"]


def _rawwave_frame_s(params: dict) -> float:
    return params["hop_length"] / params["sample_rate"]


_PATCHES = dict(families=("spectrogram",), instances=instances.real_patches, exclusion_reason="no log-mel patch", input_shapes=_spectrogram_input)
_SUMMARY = dict(families=("spectrogram",), instances=instances.summary, input_shapes=_spectrogram_input)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "vggish_head",
            "keras",
            "head.vggish_head",
            ("vggish",),
            instances.first_embeddings,
            exclusion_reason="fewer seconds of embeddings than the head takes",
            input_shapes=_flat_input,
        ),
        ModelSpec("clip_cnn", "keras", "cnn.clip_cnn", **_PATCHES),
        ModelSpec("clip_cam_cnn", "keras", "cnn.clip_cam_cnn", **_PATCHES, cam=CamSpec(True, _patch_frame_s), init_from=("clip_cnn",)),
        ModelSpec("summary_cnn", "keras", "cnn.summary_cnn", **_SUMMARY),
        ModelSpec("summary_cam_cnn", "keras", "cnn.summary_cam_cnn", **_SUMMARY, cam=CamSpec(True, _summary_frame_s), init_from=("summary_cnn",)),
        ModelSpec(
            "rawwav_cam_cnn",
            "keras",
            "cnn.rawwav_cam_cnn",
            ("rawwave",),
            instances.rawwave,
            input_shapes=_rawwave_input,
            cam=CamSpec(False, _rawwave_frame_s),
        ),
        ModelSpec("fusion", "keras", "fusion.fusion", ("mfcc", "frames"), instances.mfcc_and_frames, input_shapes=_fusion_inputs),
        ModelSpec("knn", "sklearn", "knn.knn", ("vggish",), instances.windows, exclusion_reason="no VGGish embedding"),
    )
}
"""Model name -> its entry, in the order tables list them."""


def spec(name: str) -> ModelSpec:
    """The entry of a registered model; an unknown name is an error that lists the known ones."""
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; registered models are {sorted(MODELS)}")
    return MODELS[name]


def enabled(models_config: dict, *, task: str = "regression") -> list[ModelSpec]:
    """The entries of ``models.enabled``, checked against the registry and their settings.

    Refused at parse time, with what to change: an unregistered name, a model that does not
    support the task, an ``init_from`` it cannot start from, a CAM model without a linear output
    (the CAM identity needs one).
    """
    specs = []
    for name in models_config["enabled"]:
        if name not in MODELS:
            raise InputError(f"models.enabled: {name!r} is not a registered model; choose from {sorted(MODELS)}")
        entry, settings = MODELS[name], models_config.get(name, {})
        if task not in entry.tasks:
            raise InputError(f"models.enabled: {name} does not support the {task} task (it supports {list(entry.tasks)})")
        start = settings.get("init_from") or None
        if start is not None and start not in entry.init_from:
            raise InputError(f"models.{name}.init_from: {start!r} is not a model {name} can start from; choose from {['', *entry.init_from]}")
        if entry.cam is not None and settings.get("output_activation") != "linear":
            raise InputError(f"models.{name}.output_activation must be 'linear' for class activation maps; set it so, or take {name} out of models.enabled")
        specs.append(entry)
    return specs


def build(name: str, **settings):
    """Build a registered model from its settings."""
    return spec(name).build(**settings)
