"""The model registry: one entry per model holds every fact about it, and nothing else names models."""

import importlib
import inspect
import re

import pytest
import yaml

from impressions.io.errors import InputError
from impressions.models import registry
from impressions.models.entry import FRAMEWORKS, STACK, TASKS
from impressions.models.registry import MODELS
from workflow_rules import REPO

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def test_the_schema_configures_exactly_the_registered_models():
    sections = set(SCHEMA["properties"]["models"]["properties"]) - {"enabled", "seed", "gpus", "memory_mb"}
    assert sections == set(MODELS)
    assert set(SCHEMA["properties"]["models"]["properties"]["enabled"]["default"]) <= set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_entry_names_a_builder_its_files_and_a_framework(name):
    spec = MODELS[name]
    assert spec.name == name and spec.framework in FRAMEWORKS and set(spec.tasks) <= set(TASKS)
    builder = getattr(importlib.import_module(spec.builder_module), spec.builder.rsplit(".", 1)[1])
    assert callable(builder) and inspect.getsourcefile(builder) == str(spec.builder_file())  # the file its jobs list as code
    rules = "".join(path.read_text() for path in (REPO / "rules").glob("*.smk"))
    patterns = ('"results/{dataset}/features/%s/{shard}.h5"', '"results/{{dataset}}/features/%s/{shard}.h5"')  # per-shard rule, or one job for all shards
    assert all(any(pattern % family in rules for pattern in patterns) for family in spec.families)
    assert bool(spec.families) == (spec.framework != STACK)  # a stack reads its members' predictions, no cache
    assert set(spec.init_from) <= set(MODELS) - {name}
    if spec.cam is not None:
        assert spec.framework == "keras"


def test_the_default_config_enables_its_models_in_order():
    assert [spec.name for spec in registry.enabled(CONFIG["models"])] == CONFIG["models"]["enabled"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"enabled": ["clip_cnn", "resnet_lstm"]}, r"models.enabled: 'resnet_lstm' is not a registered model; choose from \[.*'clip_cnn'"),
        ({"clip_cam_cnn": {"output_activation": "sigmoid"}}, r"models.clip_cam_cnn.output_activation must be 'linear'"),
        ({"enabled": ["clip_cam_cnn"]}, r"models.clip_cam_cnn.init_from: clip_cnn is not in models.enabled; enable it, or set init_from: ''"),
        (
            {"clip_cam_cnn": {"init_from": "summary_cnn"}},
            r"models.clip_cam_cnn.init_from: 'summary_cnn' is not a model clip_cam_cnn can start from; choose from \['', 'clip_cnn'\]",
        ),
    ],
)
def test_bad_model_settings_are_refused_with_the_key_and_the_choices(change, message):
    config = yaml.safe_load((REPO / "config.yaml").read_text())["models"]
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    with pytest.raises(InputError, match=message):
        registry.enabled(config)


STACKS = sorted(name for name, spec in MODELS.items() if spec.framework == STACK)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"members": ["knn", "text_linear"]}, r"models.{0}.members: 'text_linear' is not in models.enabled; enable it, or choose from \['clip_cnn', 'knn'\]"),
        ({"members": ["{0}"]}, r"models.{0}.members: {0} combines other models itself; choose from"),
    ],
)
def test_a_stack_member_that_is_not_enabled_or_is_a_stack_is_refused(change, message):
    for name in STACKS:
        models = {"enabled": ["clip_cnn", "knn", name], name: {k: [m.format(name) for m in v] for k, v in change.items()}}
        with pytest.raises(InputError, match=message.format(name)):
            registry.enabled(models)


def test_a_stack_without_members_is_refused_and_empty_members_take_every_other_model():
    for name in STACKS:
        with pytest.raises(InputError, match=f"models.enabled: {name} combines the other enabled models, and there are none"):
            registry.enabled({"enabled": [name], name: {"members": []}})
        specs = registry.enabled({"enabled": ["clip_cnn", name, "knn"], name: {"members": []}})
        assert MODELS[name].members({"members": []}, specs) == ["clip_cnn", "knn"]
        assert MODELS[name].members({"members": ["knn"]}, specs) == ["knn"]
    assert MODELS["knn"].members({}, specs) == []


def test_describe_names_every_function_of_an_entry_so_that_a_job_reruns_when_one_changes():
    described = MODELS["rawwav_cam_cnn"].describe()
    assert described["instances"] == "impressions.models.instances.rawwave"
    assert described["cam"] == {"spectrogram": False, "frame_s": "impressions.models.instances.rawwave_frame_s"}
    assert described["input_shapes"] == "impressions.models.instances.rawwave_input"
    assert MODELS["fusion"].describe()["input_settings"] == ["audio_input", "mfcc_length"]


def test_the_registry_file_holds_data_only():
    """Model jobs do not list registry.py as code (their params hold their entry): so it may hold
    no function that shapes a job's output, only entries and lookups."""
    source = (REPO / "src" / "impressions" / "models" / "registry.py").read_text()
    assert re.findall(r"^def (\w+)", source, flags=re.M) == ["spec", "enabled", "build"]
    assert "lambda" not in source and not re.search(r"^class ", source, flags=re.M)


def test_every_model_learns_both_tasks_and_another_task_is_refused():
    assert all(set(spec.tasks) == {"regression", "classification"} for spec in MODELS.values())
    with pytest.raises(InputError, match=r"knn does not support the ranking task \(it supports \['regression', 'classification'\]\)"):
        registry.enabled({"enabled": ["knn"], "knn": {}}, task="ranking")


def test_an_unknown_name_is_refused_by_spec_and_build():
    with pytest.raises(InputError, match="unknown model 'nope'; registered models are"):
        registry.build("nope")


def test_no_file_outside_the_registry_and_the_builders_branches_on_a_model_name():
    """A quoted model name in the rules, the scripts or the library (outside the registry and the
    builder modules, where a builder names the model it returns) would be a second place to edit
    when a model is added."""
    builders = {MODELS[name].builder_file() for name in MODELS} | {REPO / "src" / "impressions" / "models" / "registry.py"}
    quoted = re.compile(r"""["'](%s)["']""" % "|".join(MODELS))
    files = [*(REPO / "src").rglob("*.py"), *(REPO / "scripts").glob("*.py"), *(REPO / "rules").glob("*.smk"), REPO / "Snakefile"]
    found = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in files
        if path not in builders
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line)
    ]
    assert found == []
