"""The run's config as the workflow reads it: config.yaml, each --configfile laid over it, the
schema's defaults filled in, then one config per dataset (`impressions.data.plan.dataset_configs`)."""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import validate

from impressions.data import plan
from impressions.io.errors import InputError

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "schemas" / "config.schema.yaml"


def run_config(configfiles: list[str | os.PathLike], *, base: str | os.PathLike = REPO / "config.yaml") -> dict:
    """config.yaml with `configfiles` laid over it in order, validated, defaults filled in."""
    config: dict = {}
    for path in [base, *configfiles]:
        try:
            config = plan.merged(config, yaml.safe_load(Path(path).read_text()) or {})
        except (OSError, yaml.YAMLError) as error:
            raise InputError(f"{path}: cannot read this config file ({error})") from None
    return _validated(config)


def dataset_configs(config: dict) -> list[dict]:
    """One validated config per dataset of the run, as rules/common.smk builds them."""
    return [_validated(dataset_config) for dataset_config in plan.dataset_configs(config)]


def _validated(config: dict) -> dict:
    """`config` checked against the schema (the first error, in one line), then its defaults filled
    in by Snakemake's validator, as the workflow does."""
    schema = yaml.safe_load(SCHEMA.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        raise InputError(f"the config is not valid: {error.json_path.removeprefix('$.')}: {error.message}")
    validate(config, str(SCHEMA), set_default=True)
    return config
