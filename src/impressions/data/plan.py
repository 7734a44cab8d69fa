"""The datasets of one run: each dataset's settings (its `datasets` entry over the shared
sections), its files, shards, task and models, worked out while Snakemake parses the workflow."""

from __future__ import annotations

import copy
from pathlib import Path

from impressions.data import clips as ds
from impressions.data import kinds
from impressions.io.errors import InputError
from impressions.models import registry, task
from impressions.models.entry import STACK
from impressions.models.modalities import modalities


def merged(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` laid over it, mappings merged key by key (as Snakemake merges config files)."""
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else copy.deepcopy(value)
    return result


def dataset_configs(config: dict) -> list[dict]:
    """One config per dataset of the run: each entry of ``datasets`` laid over the other sections
    (no entries: the one dataset those sections describe). Two datasets of one name are refused."""
    base = {key: value for key, value in config.items() if key != "datasets"}
    configs = [merged(base, entry) for entry in config.get("datasets") or [{}]]
    names = [entry["dataset"]["name"] for entry in configs]
    for name in dict.fromkeys(names):
        if names.count(name) > 1:
            raise InputError(f"datasets: {names.count(name)} datasets are named {name!r}; give each its own dataset.name (results go to results/<name>/)")
    return configs


def model_settings(config: dict, name: str) -> dict:
    """A model's settings from its dataset's config, with the VGGish head's ``pooling: auto``
    resolved against the dataset's shortest clips (the training job's and the web page's)."""
    settings = dict(config["models"][name])
    if settings.get("pooling") == "auto":
        settings["pooling"] = "flatten" if config["dataset"]["min_duration_s"] >= settings["seconds"] else "mean_std"
    return settings


class DatasetPlan:
    """One dataset of the run: where its clips are, which shard holds each, what the models learn
    and which models learn it. Everything here is decided before any job runs."""

    def __init__(self, config: dict):
        self.config = config
        self.name = config["dataset"]["name"]
        self.kind = config["dataset"]["kind"]
        self.adapter = kinds.adapter(self.kind)
        self.synthetic = config["synthetic"]["enabled"]
        self.generator = kinds.generator(self.kind) if self.synthetic else None
        self.shards = [ds.shard_name(i) for i in range(config["dataset"]["n_shards"])]
        self.root = f"results/{self.name}/raw" if self.synthetic else config["dataset"]["root"]
        """Where the clips are: generated under results/ for a synthetic dataset, else the user's folder."""
        self.listing = self._find_clips()
        self._check_labels()
        self.clips_by_shard = ds.clips_by_shard(self.listing.clips, config["dataset"]["n_shards"])
        self.has_video = kinds.has_video(self.listing.clips)
        self.available = ("audio", *(["video"] if self.has_video else []), *(["text"] if self.adapter.HAS_TEXT else []))
        """The modalities the dataset has: audio always, video where a clip has it, text where the kind has it."""
        self.families = ["logmel", "mfcc", "spectrogram", "rawwave", "egemaps", "vggish"]
        self.families += [*(["frames"] if self.has_video else []), *(["text"] if self.adapter.HAS_TEXT else [])]
        self.task = task.resolve(config["dataset"]["task"], self.kind, self.adapter.label_columns(self.settings()))
        self.enabled = registry.enabled(config["models"], task=self.task.type)  # unknown names, bad settings, a task a model does not learn: refused here
        self.families += ["aligned"] if any("aligned" in spec.families for spec in self.enabled) else []
        """The per-shard cache families this dataset's modalities allow (no frames for audio files, text where the kind has it),
        and the aligned sequences where a model reads them (they hold what the dataset has)."""
        self.models = [spec.name for spec in self.enabled]
        self.keras_models = [spec.name for spec in self.enabled if spec.framework == "keras"]
        self.sklearn_models = [spec.name for spec in self.enabled if spec.framework == "sklearn"]
        self.stack_models = [spec.name for spec in self.enabled if spec.framework == STACK]
        self.members = {name: registry.spec(name).members(config["models"].get(name, {}), self.enabled) for name in self.stack_models}
        """Each stack model -> the models it combines."""
        self.modalities = {name: modalities(name, self.members.get(name), self.available) for name in self.models}
        """Each model -> the modalities it uses (audio, video, text), a stack's from its members."""
        self.cams = [spec.name for spec in self.enabled if spec.cam is not None]
        self.attentions = [spec.name for spec in self.enabled if spec.attention is not None]
        self._check_models()

    def settings(self) -> dict:
        """The `dataset` section as the kind's adapter reads it (a generated dataset: as generated)."""
        section = self.config["dataset"]
        if not self.synthetic:
            return section
        generated = self.generator.DATASET
        return {**section, **generated, "table": {**section["table"], **generated.get("table", {})}}

    def synthetic_params(self) -> dict:
        """The generator's settings (its `PARAM_KEYS` only, so that another kind's sub-section does not
        rerun it): from `synthetic` (First Impressions) or its kind's sub-section, with the seed."""
        section = self.config["synthetic"]
        given = section if self.kind == "chalearn" else {"seed": section["seed"], **section[self.kind]}
        return {key: given[key] for key in self.generator.PARAM_KEYS}

    def synthetic_outputs(self) -> list[str]:
        """Every file the synthetic generator writes; ground_truth.json (first) marks its folder."""
        files = [f"{self.root}/{relpath}" for relpath in self.generator.output_files(self.synthetic_params())]
        truth = f"{self.root}/ground_truth.json"
        return [truth, *(f for f in files if f != truth)]

    def label_files(self) -> list[str]:
        """The dataset's label files (annotation pickles, MELD CSVs, tables)."""
        return [f"{self.root}/{relpath}" for relpath in self.adapter.label_files(self.settings())]

    def _find_clips(self):
        """Every file of the dataset (planned by the generator, or found in the user's folders), as a
        Listing of clips and other files; a missing folder or label file stops here, before any job."""
        if self.synthetic:
            planned = [(clip.split, clip.relpath) for clip in self.generator.plan(self.synthetic_params())]
            return kinds.listing(self.kind, self.root, self.settings(), found=planned)
        return kinds.listing(self.kind, self.root, self.settings())

    def _check_labels(self) -> None:
        """Read the user's label files once here, so that one that cannot be read (or would run
        code) stops the run in one line before any job; the sheet job reads them again, as its inputs."""
        if not self.synthetic:
            self.adapter.read_labels(Path(self.root), self.settings())

    def _check_models(self) -> None:
        """Refuse, in one line, a model the dataset cannot feed: video without video, text without text."""
        for spec in self.enabled:
            for family, available, what in (("frames", self.has_video, "video"), ("text", self.adapter.HAS_TEXT, "utterance text")):
                if family in spec.families and not available:
                    raise InputError(f"models.enabled: {spec.name} needs {what}, and dataset {self.name} ({self.kind}) has none; remove it from models.enabled")
