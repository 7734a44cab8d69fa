# Config validation, the clip list and its shards, and the input functions of every rule.

import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)  # rule scripts import the package through the link scripts/impressions

from impressions import SPLITS, TRAITS  # noqa: E402
from impressions.data import clips as ds, kinds  # noqa: E402
from impressions.io.errors import InputError  # noqa: E402
from impressions.io.provenance import library_modules  # noqa: E402
from impressions.models import registry  # noqa: E402

DATASET = config["dataset"]["name"]
KIND = config["dataset"]["kind"]
ADAPTER = kinds.adapter(KIND)
SYNTHETIC = config["synthetic"]["enabled"]
GENERATOR = kinds.generator(KIND) if SYNTHETIC else None
SHARDS = [ds.shard_name(i) for i in range(config["dataset"]["n_shards"])]
ENABLED = registry.enabled(config["models"])  # unknown names and bad settings are refused here
MODELS = [spec.name for spec in ENABLED]
KERAS_MODELS = [spec.name for spec in ENABLED if spec.framework == "keras"]
SKLEARN_MODELS = [spec.name for spec in ENABLED if spec.framework == "sklearn"]
CAMS = [spec.name for spec in ENABLED if spec.cam is not None]


wildcard_constraints:
    dataset=DATASET,
    shard=r"\d{3}",
    model="|".join(MODELS),
    keras_model="|".join(KERAS_MODELS) or "none",
    sklearn_model="|".join(SKLEARN_MODELS) or "none",
    cam_model="|".join(CAMS) or "none",
    split="|".join(SPLITS),


def dataset_root():
    """Where the clips are: generated under results/ for the synthetic dataset, else the user's folder."""
    return f"results/{DATASET}/raw" if SYNTHETIC else config["dataset"]["root"]


def dataset_settings():
    """The `dataset` section as the kind's adapter reads it (a generated dataset: as generated)."""
    if not SYNTHETIC:
        return config["dataset"]
    generated = GENERATOR.DATASET
    return {**config["dataset"], **generated, "table": {**config["dataset"]["table"], **generated.get("table", {})}}


def synthetic_params():
    """The generator's settings: `synthetic` (First Impressions) or its kind's sub-section, with the seed."""
    section = config["synthetic"]
    return section if KIND == "chalearn" else {"seed": section["seed"], **section[KIND]}


def find_clips():
    """Every file of the dataset (planned by the generator, or found in the user's folders), as a
    Listing of clips and other files; a missing folder or label file stops here, before any job."""
    if SYNTHETIC:
        planned = [(clip.split, clip.relpath) for clip in GENERATOR.plan(synthetic_params())]
        return kinds.listing(KIND, dataset_root(), dataset_settings(), found=planned)
    return kinds.listing(KIND, dataset_root(), dataset_settings())


LISTING = find_clips()
CLIPS_BY_SHARD = ds.clips_by_shard(LISTING.clips, config["dataset"]["n_shards"])
HAS_VIDEO = kinds.has_video(LISTING.clips)
FAMILIES = ["logmel", "mfcc", "spectrogram", "rawwave", "vggish", *(["frames"] if HAS_VIDEO else [])]
"""The per-shard cache families this dataset's modalities allow (no frames for audio files)."""


def check_models():
    """Refuse, in one line, a model the dataset cannot feed: video without video, traits without traits."""
    labels = ADAPTER.label_columns(dataset_settings())
    for spec in ENABLED:
        if "frames" in spec.families and not HAS_VIDEO:
            raise InputError(f"models.enabled: {spec.name} needs video, and dataset {DATASET} ({KIND}) has none; remove it from models.enabled")
        if not set(TRAITS) <= set(labels):
            raise InputError(
                f"models.enabled: {spec.name} learns the Big Five traits, and dataset {DATASET} ({KIND}) has labels {', '.join(labels)}; "
                "set models.enabled: [] (its caches are built all the same)"
            )


check_models()


def synthetic_outputs():
    """Every file the synthetic generator writes; ground_truth.json (first) marks its folder."""
    files = [f"{dataset_root()}/{relpath}" for relpath in GENERATOR.output_files(synthetic_params())]
    truth = f"{dataset_root()}/ground_truth.json"
    return [truth, *(f for f in files if f != truth)]


def label_files(wildcards):
    """The dataset's label files (annotation pickles, MELD CSVs, tables)."""
    return [f"{dataset_root()}/{relpath}" for relpath in ADAPTER.label_files(dataset_settings())]


def listed_files(wildcards):
    """Every file found (clip id, split, path) and every other file (split, path, reason): a param of
    the sheet, so that a file added or removed rebuilds it."""
    return {
        "clips": [[clip.clip_id, clip.split, clip.path] for clip in LISTING.clips],
        "skipped": [[skipped.split, skipped.path, skipped.reason] for skipped in LISTING.skipped],
    }


def shard_videos(wildcards):
    """The media files of one shard: touching one reruns only its shard's jobs."""
    return [clip.path for clip in CLIPS_BY_SHARD[wildcards.shard]]


def shard_clips(wildcards):
    """Clip id, split and path of each clip of one shard (a param: membership changes rerun the shard)."""
    return [[clip.clip_id, clip.split, clip.path] for clip in CLIPS_BY_SHARD[wildcards.shard]]


def code(rule_script):
    """The library modules a rule script imports, so that editing them reruns the rule."""
    return library_modules(str(Path(workflow.basedir) / "scripts" / rule_script), SRC)


def per_shard(pattern):
    """Expand a per-shard path over every shard of the dataset."""

    def paths(wildcards):
        return expand(pattern, dataset=wildcards.dataset, shard=SHARDS)

    return paths


def vggish_checkpoint_files(wildcards):
    """The official checkpoint (a V1 file, or a V2 prefix's index) and the PCA file, if set."""
    prefix = config["vggish"]["checkpoint"]
    files = [f"{prefix}.index" if Path(f"{prefix}.index").exists() else prefix]
    return files + ([config["vggish"]["pca_params"]] if config["vggish"]["pca_params"] else [])


def converted_vggish(wildcards):
    """The SavedModel converted from the official checkpoint, when the config asks for it."""
    return ["results/vggish_checkpoint/savedmodel"] if config["vggish"]["source"] == "checkpoint" else []


def model_name(wildcards):
    return wildcards.get("keras_model") or wildcards.get("sklearn_model") or wildcards.get("cam_model") or wildcards.get("model")


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
    name = model_name(wildcards)
    inputs = {"manifest": f"results/{wildcards.dataset}/manifest.tsv"}
    for family in registry.spec(name).families:
        inputs[family] = expand("results/{dataset}/features/{family}/{shard}.h5", dataset=wildcards.dataset, family=family, shard=SHARDS)
    if "mfcc_length" in registry.spec(name).input_settings:
        inputs["mfcc_length"] = f"results/{wildcards.dataset}/features/mfcc_length.json"
    if config["models"][name].get("init_from"):
        inputs["init_model"] = f"results/{wildcards.dataset}/models/{config['models'][name]['init_from']}/model.keras"
    return inputs


def model_params(wildcards):
    """A model's settings from config (a param: changing them retrains only that model)."""
    return config["models"][model_name(wildcards)]


def cam_inputs(wildcards):
    """A CAM model, its predictions (to rank clips), the caches it reads, and (a model whose maps
    are over time only) the wavs whose envelope its maps are drawn over."""
    name, root = wildcards.cam_model, f"results/{wildcards.dataset}"
    spec = registry.spec(name)
    (family,) = spec.families
    return {
        "model": f"{root}/models/{name}/model.keras",
        "predictions": expand("{root}/models/{name}/predictions_{split}.csv", root=root, name=name, split=SPLITS),
        "manifest": f"{root}/manifest.tsv",
        "caches": expand("{root}/features/{family}/{shard}.h5", root=root, family=family, shard=SHARDS),
        "wav": expand("{root}/wav/{shard}", root=root, shard=SHARDS) if not spec.cam.spectrogram else [],
        "ground_truth": ground_truth(wildcards),
    }


def summary_figures(wildcards):
    """Every figure of the run: the summary page embeds them and the report needs them built."""
    root = f"results/{wildcards.dataset}"
    return {
        "data_figures": [f"{root}/plots/trait_distributions.png", f"{root}/plots/sample_clips.png"],
        "training_figures": expand("{root}/plots/{model}/training_curves.png", root=root, model=KERAS_MODELS),
        "prediction_figures": expand("{root}/plots/{model}/predicted_vs_true.png", root=root, model=MODELS),
        "cam_profiles": expand("{root}/cam/{model}/profiles.png", root=root, model=CAMS),
        "cam_galleries": expand("{root}/cam/{model}/gallery_{trait}.png", root=root, model=CAMS, trait=TRAITS),
    }


def metrics_of_all_models(wildcards):
    return expand("results/{dataset}/models/{model}/metrics.json", dataset=wildcards.dataset, model=MODELS)


def ground_truth(wildcards):
    return [f"{dataset_root()}/ground_truth.json"] if SYNTHETIC else []


def final_outputs():
    """What `snakemake` builds by default: the summaries (and through them every figure and model, when
    models are enabled), the exclusions, every cache the dataset's modalities allow."""
    summaries = expand("results/{dataset}/summary{ext}", dataset=DATASET, ext=[".md", ".tsv", ".html", "_tables.html"]) if MODELS else []
    return [
        *summaries,
        *expand("results/{dataset}/models/{model}/metrics.json", dataset=DATASET, model=MODELS),
        f"results/{DATASET}/excluded.tsv",
        *expand("results/{dataset}/features/{family}/{shard}.h5", dataset=DATASET, family=FAMILIES, shard=SHARDS),
        f"results/{DATASET}/features/mfcc_length.json",
        *expand("results/{dataset}/cam/{cam_model}/localisation.json", dataset=DATASET, cam_model=CAMS),
    ]
