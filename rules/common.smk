# Config validation, the clip list and its shards, and the input functions of every rule.

import re
import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)  # rule scripts import the package through the link scripts/impressions

from impressions import SPLITS  # noqa: E402
from impressions.data import plan  # noqa: E402
from impressions.io.provenance import library_modules  # noqa: E402
from impressions.models import registry  # noqa: E402

DATASETS = {}
"""Every dataset of the run by name: its merged settings, files, shards, task and models."""
for dataset_config in plan.dataset_configs(config):
    validate(dataset_config, schema="../schemas/config.schema.yaml", set_default=True)
    DATASETS[dataset_config["dataset"]["name"]] = plan.DatasetPlan(dataset_config)


def union(attribute):
    """The names (models, CAM models, ...) that any dataset of the run has, in a stable order."""
    return list(dict.fromkeys(name for dataset in DATASETS.values() for name in getattr(dataset, attribute)))


def one_of(names):
    """A wildcard constraint matching exactly these names (none: nothing)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(DATASETS),
    shard=r"\d{3}",
    model=one_of(union("models")),
    keras_model=one_of(union("keras_models")),
    sklearn_model=one_of(union("sklearn_models")),
    stack_model=one_of(union("stack_models")),
    cam_model=one_of(union("cams")),
    attention_model=one_of(union("attentions")),
    split="|".join(SPLITS),
    label_figure="trait_distributions|class_distribution",
    prediction_figure="predicted_vs_true|confusion_matrix",


def dataset(wildcards):
    """The dataset of a job, by its `dataset` wildcard."""
    return DATASETS[wildcards.dataset]


def setting(*keys):
    """A param: a section (or a key in it) of the config of the job's dataset."""

    def value(wildcards):
        chosen = dataset(wildcards).config
        for key in keys:
            chosen = chosen[key]
        return chosen

    return value


def task_params(wildcards):
    """The dataset's task as plain values (a param: changing it reruns every job that reads it)."""
    return dataset(wildcards).task.describe()


def dataset_models(attribute="models"):
    """A param: the names of the dataset's models (or keras_models, cams; modalities: model -> its modalities)."""

    def names(wildcards):
        return getattr(dataset(wildcards), attribute)

    return names


def label_files(wildcards):
    """The dataset's label files (annotation pickles, MELD CSVs, tables)."""
    return dataset(wildcards).label_files()


def listed_files(wildcards):
    """Every file found (clip id, split, path) and every other file (split, path, reason): a param of
    the sheet, so that a file added or removed rebuilds it."""
    listing = dataset(wildcards).listing
    return {
        "clips": [[clip.clip_id, clip.split, clip.path] for clip in listing.clips],
        "skipped": [[skipped.split, skipped.path, skipped.reason] for skipped in listing.skipped],
    }


def shard_videos(wildcards):
    """The media files of one shard: touching one reruns only its shard's jobs."""
    return [clip.path for clip in dataset(wildcards).clips_by_shard[wildcards.shard]]


def shard_clips(wildcards):
    """Clip id, split and path of each clip of one shard (a param: membership changes rerun the shard)."""
    return [[clip.clip_id, clip.split, clip.path] for clip in dataset(wildcards).clips_by_shard[wildcards.shard]]


def code(rule_script):
    """The library modules a rule script imports, so that editing them reruns the rule."""
    return library_modules(str(Path(workflow.basedir) / "scripts" / rule_script), SRC)


def per_shard(pattern):
    """Expand a per-shard path over every shard of the dataset."""

    def paths(wildcards):
        return expand(pattern, dataset=wildcards.dataset, shard=dataset(wildcards).shards)

    return paths


def every_cache(wildcards):
    """Every shard cache of every family the dataset's modalities allow."""
    chosen = dataset(wildcards)
    return expand("results/{dataset}/features/{family}/{shard}.h5", dataset=chosen.name, family=chosen.families, shard=chosen.shards)


def first_shard(pattern):
    """A per-shard path of the dataset's first shard."""

    def path(wildcards):
        return expand(pattern, dataset=wildcards.dataset, shard=dataset(wildcards).shards[0])[0]

    return path


def aligned_modalities(wildcards):
    """A param: which of video and text the dataset's aligned cache holds (audio it always holds)."""
    return {modality: modality in dataset(wildcards).available for modality in ("video", "text")}


def aligned_text_source(wildcards):
    """The clip sheet, where the aligned cache takes each utterance's text from (datasets with text;
    none otherwise, so that a clip added to one shard reruns only that shard's aligned job)."""
    return [f"results/{wildcards.dataset}/clips.tsv"] if dataset(wildcards).adapter.HAS_TEXT else []


def video_caches(wildcards):
    """The frame caches, for a dataset with video (none for audio files)."""
    return per_shard("results/{dataset}/features/frames/{shard}.h5")(wildcards) if dataset(wildcards).has_video else []


def text_caches(wildcards):
    """The text family's caches, all written by one job (its TF-IDF is fitted on every training text)."""
    return per_shard("results/{dataset}/features/text/{shard}.h5")(wildcards)


def vggish_checkpoint_files(wildcards):
    """The official checkpoint (a V1 file, or a V2 prefix's index) and the PCA file, if set."""
    prefix = config["vggish"]["checkpoint"]
    files = [f"{prefix}.index" if Path(f"{prefix}.index").exists() else prefix]
    return files + ([config["vggish"]["pca_params"]] if config["vggish"]["pca_params"] else [])


def converted_vggish(wildcards):
    """The SavedModel converted from the official checkpoint, when the config asks for it."""
    return ["results/vggish_checkpoint/savedmodel"] if config["vggish"]["source"] == "checkpoint" else []


def model_name(wildcards):
    kinds = ("keras_model", "sklearn_model", "stack_model", "cam_model", "attention_model", "model")
    return next((wildcards.get(kind) for kind in kinds if wildcards.get(kind)), None)


REGISTRY_FILE = str(Path(SRC) / "impressions" / "models" / "registry.py")


def model_code(rule_script):
    """A model job's code: its script's library modules plus the model's builder module, which the
    script imports by the model's name (editing a builder retrains exactly the models it builds).
    The registry file is left out: the job's params hold the model's own entry (model_entry)."""

    def files(wildcards):
        builder = registry.spec(model_name(wildcards)).builder_file()
        return sorted({*code(rule_script), str(builder), *library_modules(str(builder), SRC)} - {REGISTRY_FILE})

    return files


def model_entry(wildcards):
    """A model's registry entry as plain values (a param: editing it reruns that model's jobs only)."""
    return registry.spec(model_name(wildcards)).describe()


def model_inputs(wildcards):
    """What a model trains on: the manifest, the shard caches of every family it reads, and
    the MFCC length (where its instances read it) or the model it starts from (CAM fine-tuning)."""
    name, chosen = model_name(wildcards), dataset(wildcards)
    inputs = {"manifest": f"results/{wildcards.dataset}/manifest.tsv"}
    for family in registry.spec(name).families:
        inputs[family] = expand("results/{dataset}/features/{family}/{shard}.h5", dataset=wildcards.dataset, family=family, shard=chosen.shards)
    if "mfcc_length" in registry.spec(name).input_settings:
        inputs["mfcc_length"] = f"results/{wildcards.dataset}/features/mfcc_length.json"
    if chosen.config["models"][name].get("init_from"):
        inputs["init_model"] = f"results/{wildcards.dataset}/models/{chosen.config['models'][name]['init_from']}/model.keras"
    return inputs


def stack_members(wildcards):
    """A param: the models a stack combines (config ``members``, or every other enabled model)."""
    return dataset(wildcards).members[wildcards.stack_model]


def member_predictions(wildcards):
    """What a stack reads: its members' predictions of every split (by split: train, val, test and
    predict, the unlabelled clips) and their excluded.tsv (why a clip has no prediction)."""
    root, members = f"results/{wildcards.dataset}/models", stack_members(wildcards)
    inputs = {split: expand("{root}/{member}/predictions_{split}.csv", root=root, member=members, split=split) for split in (*SPLITS, "predict")}
    return {**inputs, "excluded": expand("{root}/{member}/excluded.tsv", root=root, member=members)}


def model_params(wildcards):
    """A model's settings from its dataset's config (a param: changing them retrains only that
    model), with the VGGish head's ``pooling: auto`` resolved against the dataset's shortest clips."""
    return plan.model_settings(dataset(wildcards).config, model_name(wildcards))


def cam_inputs(wildcards):
    """A CAM model, its predictions (to rank clips), the caches it reads, and (a model whose maps
    are over time only) the wavs whose envelope its maps are drawn over."""
    name, root, shards = wildcards.cam_model, f"results/{wildcards.dataset}", dataset(wildcards).shards
    spec = registry.spec(name)
    (family,) = spec.families
    return {
        "model": f"{root}/models/{name}/model.keras",
        "predictions": expand("{root}/models/{name}/predictions_{split}.csv", root=root, name=name, split=SPLITS),
        "manifest": f"{root}/manifest.tsv",
        "caches": expand("{root}/features/{family}/{shard}.h5", root=root, family=family, shard=shards),
        "wav": expand("{root}/wav/{shard}", root=root, shard=shards) if not spec.cam.spectrogram else [],
        "ground_truth": ground_truth(wildcards),
    }


def attention_inputs(wildcards):
    """A sequence model, what it was trained on (`model_inputs`: the caches of every family it
    reads), its predictions (to rank clips) and, on synthetic data, the ground truth with the
    planted moments."""
    name, root = wildcards.attention_model, f"results/{wildcards.dataset}"
    return {
        **model_inputs(wildcards),
        "model": f"{root}/models/{name}/model.keras",
        "predictions": expand("{root}/models/{name}/predictions_{split}.csv", root=root, name=name, split=SPLITS),
        "ground_truth": ground_truth(wildcards),
    }


def task_outputs(wildcards):
    """A model's outputs: a target (regression) or a class per unit; CAM galleries are drawn per output."""
    return list(dataset(wildcards).task.outputs)


def task_figures(chosen):
    """The names (plots/<name>.png) of the figures a dataset's task decides: the labels per split,
    each model's test predictions and the comparison of all models (classification only)."""
    if chosen.task.classification:
        return {"labels": "class_distribution", "predictions": "confusion_matrix", "models": ["class_f1"]}
    return {"labels": "trait_distributions", "predictions": "predicted_vs_true", "models": []}


def figure_label(wildcard, suffix=""):
    """Report labels of a figure named by a wildcard: the model (where there is one) and the name in words."""

    def labels(wildcards):
        shown = {"figure": wildcards.get(wildcard).replace("_", " ") + suffix}
        return {"model": wildcards.get("model"), **shown} if wildcards.get("model") else shown

    return labels


def summary_figures(wildcards):
    """Every figure of the run: the summary page embeds them and the report needs them built."""
    root, chosen = f"results/{wildcards.dataset}", dataset(wildcards)
    names = task_figures(chosen)
    return {
        "data_figures": [f"{root}/plots/{names['labels']}.png", f"{root}/plots/sample_clips.png"],
        "training_figures": expand("{root}/plots/{model}/training_curves.png", root=root, model=chosen.keras_models),
        "prediction_figures": expand("{root}/plots/{model}/{name}.png", root=root, model=chosen.models, name=names["predictions"]),
        "model_figures": expand("{root}/plots/{name}.png", root=root, name=names["models"]),
        "cam_profiles": expand("{root}/cam/{model}/profiles.png", root=root, model=chosen.cams),
        "cam_galleries": expand("{root}/cam/{model}/galleries", root=root, model=chosen.cams),
        "attention_galleries": expand("{root}/attention/{model}/galleries", root=root, model=chosen.attentions),
    }


def benchmarks(wildcards):
    """The benchmark file of every job that keeps one: the summary's table of where the time went."""
    root, chosen = f"results/{wildcards.dataset}/benchmarks", dataset(wildcards)
    shard_rules = ["wav", "logmel", "mfcc", "rawwave", "egemaps", "embed"] + (["frames"] if chosen.has_video else [])
    return [
        *expand("{root}/{rule}/{shard}.tsv", root=root, rule=shard_rules, shard=chosen.shards),
        *expand("{root}/train/{model}.tsv", root=root, model=chosen.keras_models),
        *expand("{root}/cam/{model}.tsv", root=root, model=chosen.cams),
        *expand("{root}/attention/{model}.tsv", root=root, model=chosen.attentions),
    ]


def attention_files(wildcards):
    """Each sequence model's attention.json."""
    return expand("results/{dataset}/attention/{model}/attention.json", dataset=wildcards.dataset, model=dataset(wildcards).attentions)


def cam_files(name):
    """One file (localisation.json, ...) of each of the dataset's CAM models."""

    def paths(wildcards):
        return expand("results/{dataset}/cam/{cam_model}/{name}", dataset=wildcards.dataset, cam_model=dataset(wildcards).cams, name=name)

    return paths


def metrics_of_all_models(wildcards):
    return expand("results/{dataset}/models/{model}/metrics.json", dataset=wildcards.dataset, model=dataset(wildcards).models)


def predictions_of_all_models(split):
    """An input function: every model's predictions of `split`, in the dataset's model order."""

    def paths(wildcards):
        return expand("results/{dataset}/models/{model}/predictions_{split}.csv", dataset=wildcards.dataset, model=dataset(wildcards).models, split=split)

    return paths


def ground_truth(wildcards):
    chosen = dataset(wildcards)
    return [f"{chosen.root}/ground_truth.json"] if chosen.synthetic else []


def final_outputs():
    """What `snakemake` builds by default, for every dataset: the summaries (and through them every
    figure and model, when models are enabled), the exclusions, every cache its modalities allow."""
    outputs = []
    for name, chosen in DATASETS.items():
        root = f"results/{name}"
        outputs += expand("{root}/summary{ext}", root=root, ext=[".md", ".tsv", ".html", "_tables.html"]) if chosen.models else []
        outputs += expand("{root}/models/{model}/metrics.json", root=root, model=chosen.models)
        outputs += [f"{root}/excluded.tsv", *([f"{root}/submission.csv"] if chosen.models and chosen.adapter.PREDICTS else [])]
        outputs += expand("{root}/features/{family}/{shard}.h5", root=root, family=chosen.families, shard=chosen.shards)
        outputs += [f"{root}/features/mfcc_length.json"]
        outputs += expand("{root}/cam/{cam_model}/localisation.json", root=root, cam_model=chosen.cams)
        outputs += expand("{root}/attention/{model}/attention.json", root=root, model=chosen.attentions)
    return outputs
