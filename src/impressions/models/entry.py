"""What an entry of the model registry holds, and what it does: build its model, describe itself.

The logic behind `impressions.models.registry`, which is data: this module is part of every
model job's code (editing it reruns them all), the registry file is not (a job's params hold
its own entry instead).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from impressions.models import instances

STACK = "stack"
"""The framework of a model of other models' predictions (the ensemble): it reads no cache."""
FRAMEWORKS = ("keras", "sklearn", STACK)
TASKS = ("regression", "classification")


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
class AttentionSpec:
    """Where a sequence model's attention over time is, and when each of its weights falls.

    Attributes
    ----------
    layer : the `impressions.models.sequence.AttentionPooling` layer whose weights are drawn
    mask : the instance's input that marks the real elements of that axis
    times : (instance, params of each cache family) -> seconds of each weight
    """

    layer: str
    mask: str
    times: Callable[[Any, dict], Any]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the pipeline asks about one model.

    Attributes
    ----------
    name : the key in config.yaml (``models.enabled``, ``models.<name>``) and in result paths
    framework : "keras" (rule ``train``, a GPU job), "sklearn" (rule ``train_sklearn``) or "stack"
        (rule ``ensemble``: fitted on its members' validation predictions, see `members`)
    builder : "<module>.<function>" in `impressions.models`; keyword-only settings -> a model
    families : the cache families it reads (folders under ``features/``; none for a stack)
    instances : (readers, clip_id, settings) -> the clip's instances (`impressions.models.instances`)
    exclusion_reason : why a clip can give no instance (for the model's excluded.tsv)
    input_shapes : the first training instance -> the builder's input-shape arguments (Keras)
    input_settings : settings its `instances` read, kept from its builder (``mfcc_length`` is
        also an input file: the training split's MFCC length)
    cam : how its class activation maps are laid out; None for a model without CAMs
    attention : where its attention over time is (sequence models); None for the others
    init_from : models whose trained conv weights it may start from (config ``init_from``)
    tasks : the tasks it supports
    """

    name: str
    framework: str
    builder: str
    families: tuple[str, ...]
    instances: Callable[[instances.Readers, str, dict], list]
    exclusion_reason: str = ""
    input_shapes: Callable[[Any], dict] = instances.no_shapes
    input_settings: tuple[str, ...] = ()
    cam: CamSpec | None = None
    attention: AttentionSpec | None = None
    init_from: tuple[str, ...] = ()
    tasks: tuple[str, ...] = TASKS

    @property
    def builder_module(self) -> str:
        return f"impressions.models.{self.builder.rsplit('.', 1)[0]}"

    def builder_file(self) -> Path:
        """The source file of the builder's module (a training rule's code)."""
        return Path(__file__).parent.joinpath(*self.builder.split(".")[:-1]).with_suffix(".py")

    def describe(self) -> dict:
        """The entry as plain values (functions by qualified name): a model job's params, so that
        editing one entry reruns that model's jobs and adding an entry reruns no other model's
        (but an ensemble's that combines it)."""

        def named(function):
            return f"{function.__module__}.{function.__qualname__}"

        cam = None if self.cam is None else {"spectrogram": self.cam.spectrogram, "frame_s": named(self.cam.frame_s)}
        attention = None if self.attention is None else {"layer": self.attention.layer, "mask": self.attention.mask, "times": named(self.attention.times)}
        return {
            "framework": self.framework,
            "builder": self.builder,
            "families": list(self.families),
            "instances": named(self.instances),
            "exclusion_reason": self.exclusion_reason,
            "input_shapes": named(self.input_shapes),
            "input_settings": list(self.input_settings),
            "cam": cam,
            "attention": attention,
            "init_from": list(self.init_from),
            "tasks": list(self.tasks),
        }

    def members(self, settings: dict, enabled: list[ModelSpec]) -> list[str]:
        """The models a stack combines: its ``members`` setting or, left empty, every enabled model
        that is not a stack itself (in ``models.enabled`` order); none for another framework."""
        if self.framework != STACK:
            return []
        return list(settings.get("members") or []) or [spec.name for spec in enabled if spec.framework != STACK]

    def build(self, **settings):
        """Build the model; importing its module also registers its custom Keras layers."""
        return getattr(importlib.import_module(self.builder_module), self.builder.rsplit(".", 1)[1])(**settings)
