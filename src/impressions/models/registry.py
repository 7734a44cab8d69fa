"""The model registry: every fact about a model in one entry, read by the rules, training, the
cam stage and the summary, so that nothing else branches on a model's name.

This file is data (the entries) and lookups; what an entry is and does is in
`impressions.models.entry`, how instances look in `impressions.models.instances`. It imports
neither Keras nor TensorFlow (the workflow reads it when it parses the DAG): a builder's module
is imported only when its model is built or loaded. A model job's code is its script's modules
plus its builder's module, and its params hold its own entry (`ModelSpec.describe`) in place
of this file, so adding or editing one entry reruns that model's jobs only.
"""

from __future__ import annotations

from impressions.io.errors import InputError
from impressions.models import instances
from impressions.models.entry import STACK, AttentionSpec, CamSpec, ModelSpec

_PATCHES = dict(families=("spectrogram",), instances=instances.real_patches, exclusion_reason="no log-mel patch", input_shapes=instances.spectrogram_input)
_SUMMARY = dict(families=("spectrogram",), instances=instances.summary, input_shapes=instances.spectrogram_input)

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
            input_shapes=instances.flat_input,
            input_settings=("seconds", "pooling"),
        ),
        ModelSpec("clip_cnn", "keras", "cnn.clip_cnn", **_PATCHES),
        ModelSpec("clip_cam_cnn", "keras", "cnn.clip_cam_cnn", **_PATCHES, cam=CamSpec(True, instances.patch_frame_s), init_from=("clip_cnn",)),
        ModelSpec("summary_cnn", "keras", "cnn.summary_cnn", **_SUMMARY),
        ModelSpec("summary_cam_cnn", "keras", "cnn.summary_cam_cnn", **_SUMMARY, cam=CamSpec(True, instances.summary_frame_s), init_from=("summary_cnn",)),
        ModelSpec(
            "rawwav_cam_cnn",
            "keras",
            "cnn.rawwav_cam_cnn",
            ("rawwave",),
            instances.rawwave,
            input_shapes=instances.rawwave_input,
            cam=CamSpec(False, instances.rawwave_frame_s),
        ),
        ModelSpec(
            "fusion",
            "keras",
            "fusion.fusion",
            ("mfcc", "frames"),
            instances.mfcc_and_frames,
            input_shapes=instances.fusion_inputs,
            input_settings=("audio_input", "mfcc_length"),
        ),
        ModelSpec(
            "fusion_text",
            "keras",
            "fusion.fusion",
            ("mfcc", "frames", "text"),
            instances.mfcc_frames_and_text,
            input_shapes=instances.fusion_inputs,
            input_settings=("audio_input", "mfcc_length"),
        ),
        ModelSpec(
            "aligned_gru",
            "keras",
            "sequence.aligned_gru",
            ("aligned",),
            instances.aligned_steps,
            input_shapes=instances.aligned_inputs,
            attention=AttentionSpec("attention_pool", "mask", instances.step_times),
        ),
        ModelSpec(
            "crossmodal_attention",
            "keras",
            "sequence.crossmodal_attention",
            ("mfcc", "frames", "aligned"),
            instances.unaligned_streams,
            input_shapes=instances.unaligned_inputs,
            input_settings=("max_tokens",),
            attention=AttentionSpec("audio_pool", "audio_mask", instances.audio_frame_times),
        ),
        ModelSpec("knn", "sklearn", "knn.knn", ("vggish",), instances.windows, exclusion_reason="no VGGish embedding"),
        ModelSpec("egemaps_linear", "sklearn", "linear.functionals_linear", ("egemaps",), instances.egemaps_functionals),
        ModelSpec("video_linear", "sklearn", "linear.functionals_linear", ("frames",), instances.video_functionals),
        ModelSpec("audiovisual_linear", "sklearn", "linear.functionals_linear", ("egemaps", "frames"), instances.audiovisual_functionals),
        ModelSpec("text_linear", "sklearn", "text.text_linear", ("text",), instances.text_vector, exclusion_reason="no text"),
        ModelSpec("audiovisual_text_linear", "sklearn", "linear.functionals_linear", ("egemaps", "frames", "text"), instances.audiovisual_functionals_and_text),
        ModelSpec("ensemble", STACK, "ensemble.combiner", (), instances.no_instances),
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
    support the task, an ``init_from`` it cannot start from or that is not enabled, a CAM model
    without a linear output (the CAM identity needs one), a stack whose members are not enabled,
    are stacks themselves, or are none.
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
        if start is not None and start not in models_config["enabled"]:
            raise InputError(f"models.{name}.init_from: {start} is not in models.enabled; enable it, or set init_from: '' to train {name} from scratch")
        if entry.cam is not None and settings.get("output_activation") != "linear":
            raise InputError(f"models.{name}.output_activation must be 'linear' for class activation maps; set it so, or take {name} out of models.enabled")
        specs.append(entry)
    for entry in (spec for spec in specs if spec.framework == STACK):
        members = entry.members(models_config.get(entry.name, {}), specs)
        others = [spec.name for spec in specs if spec.framework != STACK]
        for member in members:
            if member not in models_config["enabled"]:
                raise InputError(f"models.{entry.name}.members: {member!r} is not in models.enabled; enable it, or choose from {others} ([]: all of them)")
            if MODELS[member].framework == STACK:
                raise InputError(f"models.{entry.name}.members: {member} combines other models itself; choose from {others} ([]: all of them)")
        if not members:
            raise InputError(f"models.enabled: {entry.name} combines the other enabled models, and there are none; enable some, or take {entry.name} out")
    return specs


def build(name: str, **settings):
    """Build a registered model from its settings."""
    return spec(name).build(**settings)
