"""config.yaml and its schema: every key described with a default, and the defaults valid."""

import jsonschema
import pytest
import yaml

from workflow_rules import REPO

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def leaves(schema, path=()):
    for key, spec in schema.get("properties", {}).items():
        yield path + (key,), spec
        yield from leaves(spec, path + (key,))


@pytest.mark.parametrize("path,spec", list(leaves(SCHEMA)), ids=lambda v: ".".join(v) if isinstance(v, tuple) else "")
def test_every_key_has_a_description_and_a_default(path, spec):
    assert spec.get("description"), f"{'.'.join(path)} has no description"
    assert "default" in spec, f"{'.'.join(path)} has no default"


def test_config_yaml_is_valid_and_names_only_known_keys():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    jsonschema.validate(config, SCHEMA)


def test_defaults_agree_with_config_yaml():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    # config.yaml lists the two embedded datasets; a config that names none is one dataset
    assert SCHEMA["properties"]["datasets"]["default"] == [] and len(config.pop("datasets")) == 2

    def check(node, schema, path):
        for key, value in node.items():
            spec = schema["properties"][key]
            if isinstance(value, dict) and "properties" in spec:
                check(value, spec, path + (key,))
            else:
                assert spec["default"] == value, f"{'.'.join(path + (key,))}: config.yaml {value!r}, schema default {spec['default']!r}"

    check(config, SCHEMA, ())


def test_invalid_values_are_refused_with_the_key_named():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["vggish"]["source"] = "pretrained"
    with pytest.raises(jsonschema.ValidationError, match="'pretrained' is not one of"):
        jsonschema.validate(config, SCHEMA)
