"""Several datasets in one run: each `datasets` entry laid over the shared sections, names unique,
and one DAG that builds every dataset into its own folder."""

import subprocess
import sys

import pytest
import yaml

from impressions.data.plan import dataset_configs, merged
from impressions.io.errors import InputError
from workflow_rules import REPO

BASE = {"dataset": {"name": "fi", "kind": "chalearn", "n_shards": 4, "task": {"type": ""}}, "models": {"enabled": ["knn"], "knn": {"n_neighbors": 3}}}


def test_an_entry_replaces_only_the_keys_it_names():
    entry = {"dataset": {"name": "meld", "task": {"type": "classification"}}, "models": {"enabled": ["text_linear"]}}
    assert merged(BASE, entry) == {
        "dataset": {"name": "meld", "kind": "chalearn", "n_shards": 4, "task": {"type": "classification"}},
        "models": {"enabled": ["text_linear"], "knn": {"n_neighbors": 3}},
    }
    assert BASE["dataset"]["name"] == "fi" and BASE["models"]["enabled"] == ["knn"]  # the shared sections are left as they were


def test_no_entries_is_the_one_dataset_of_the_sections_and_an_empty_entry_is_that_dataset():
    assert dataset_configs({**BASE, "datasets": []}) == [BASE]
    configs = dataset_configs({**BASE, "datasets": [{}, {"dataset": {"name": "meld", "kind": "meld"}}]})
    assert configs[0] == BASE and configs[1]["dataset"] == {**BASE["dataset"], "name": "meld", "kind": "meld"}
    assert all("datasets" not in config for config in configs)


def test_two_datasets_of_one_name_are_refused_with_the_name():
    with pytest.raises(InputError, match="2 datasets are named 'fi'; give each its own dataset.name"):
        dataset_configs({**BASE, "datasets": [{}, {"models": {"enabled": []}}]})


def dry_run(tmp_path, config=None):
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "2", "-n"]
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    if config is not None:
        (tmp_path / "extra.yaml").write_text(yaml.safe_dump(config))
        command += ["--configfile", str(tmp_path / "config.yaml"), str(tmp_path / "extra.yaml")]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_the_default_run_builds_both_embedded_datasets_each_in_its_folder(tmp_path):
    result = dry_run(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    own = {"synthetic_fi": "results/synthetic_fi/plots/trait_distributions.png", "synthetic_meld": "results/synthetic_meld/features/text/000.h5"}
    for name, kind_only in own.items():
        assert f"rule synthesize_{name}:" in output and f"results/{name}/summary.html" in output and kind_only in output
    assert "results/synthetic_meld/plots/class_distribution.png" in output and "results/synthetic_meld/models/fusion_text/metrics.json" in output
    assert "results/synthetic_fi/models/fusion_text" not in output and "results/synthetic_fi/features/text/" not in output


@pytest.mark.parametrize(
    "datasets, message",
    [
        ([{}, {"dataset": {"kind": "meld"}}], "2 datasets are named 'synthetic_fi'"),
        ([{"vggish": {"source": "hub"}}], "'vggish' was unexpected"),
        ([{"dataset": {"name": "m", "kind": "meld"}, "models": {"enabled": ["text_linear", "nonexistent"]}}], "'nonexistent' is not a registered model"),
    ],
)
def test_a_bad_datasets_entry_is_refused_before_any_job(tmp_path, datasets, message):
    result = dry_run(tmp_path, {"datasets": datasets})
    assert result.returncode != 0 and message in result.stdout + result.stderr


def embedded_plans(config: dict) -> dict:
    """The DatasetPlan of each dataset of `config`, validated against the schema as rules/common.smk does."""
    from snakemake.utils import validate

    from impressions.data.plan import DatasetPlan

    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"), set_default=True)
    plans = {}
    for entry in dataset_configs(config):
        validate(entry, schema=str(REPO / "schemas" / "config.schema.yaml"), set_default=True)
        plans[entry["dataset"]["name"]] = DatasetPlan(entry)
    return plans


def test_a_generator_gets_its_own_settings_only_so_another_kinds_do_not_rerun_it():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    before = {name: plan.synthetic_params() for name, plan in embedded_plans(config).items()}
    config["synthetic"]["meld"]["n_dialogues"]["test"] += 1
    after = {name: plan.synthetic_params() for name, plan in embedded_plans(config).items()}
    assert after["synthetic_fi"] == before["synthetic_fi"]
    assert sorted(after["synthetic_fi"]) == sorted(("seed", "n_clips", "duration_s", "n_short", "n_silent", "width", "height", "fps", "signal_r2"))
    assert after["synthetic_meld"]["n_dialogues"]["test"] == before["synthetic_meld"]["n_dialogues"]["test"] + 1
    assert sorted(after["synthetic_meld"]) == ["fps", "height", "n_dialogues", "seed", "width"]
