"""Static checks of the workflow: lint, logs, conda envs, pinned versions in agreement."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from impressions.io.provenance import library_modules
from workflow_rules import REPO, rules

IMPORT_TO_PACKAGE = {
    "ffmpeg": "ffmpeg-python",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "tensorflow_hub": "tensorflow-hub",
    "tf_keras": "tf-keras",
    "keras": "tensorflow",  # Keras 3 comes with the pinned tensorflow
}


def requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def env_pins(env_file: Path) -> dict[str, str]:
    spec = yaml.safe_load(env_file.read_text())
    pins = {}
    for dependency in spec["dependencies"]:
        if isinstance(dependency, dict):
            for line in dependency["pip"]:
                name, version = line.split("==")
                pins[name.lower()] = version
    return pins


def third_party_imports(path: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"impressions", "snakemake"}}


def test_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize("name,rule", sorted(rules().items()))
def test_every_rule_has_a_log_an_env_in_envs_and_a_script(name, rule):
    assert rule.get("log"), f"rule {name} has no log"
    env = rule.get("conda", "")
    assert re.fullmatch(r"\.\./envs/\w+\.yaml", env), f"rule {name}: conda is {env!r}"
    assert (REPO / "rules" / env).resolve().is_file()
    assert rule.get("script"), f"rule {name} has no script"
    assert (REPO / "rules" / rule["script"]).resolve().is_file()


@pytest.mark.parametrize("name,rule", sorted((n, r) for n, r in rules().items() if "script" in r))
def test_rule_env_has_every_third_party_import_of_its_code(name, rule):
    script = (REPO / "rules" / rule["script"]).resolve()
    files = [str(script), *library_modules(str(script), str(REPO / "src"))]
    needed = {IMPORT_TO_PACKAGE.get(m, m).lower() for f in files for m in third_party_imports(f)}
    available = env_pins((REPO / "rules" / rule["conda"]).resolve())
    assert needed <= set(available), f"rule {name} imports {sorted(needed - set(available))}, missing from {rule['conda']}"


def test_env_pins_agree_with_requirements():
    pins = requirements()
    for env_file in sorted((REPO / "envs").glob("*.yaml")):
        for package, version in env_pins(env_file).items():
            assert pins.get(package) == version, f"{env_file.name}: {package}=={version}, requirements.txt has {pins.get(package)}"


def test_checkpoint_source_converts_once_and_feeds_every_embed_job(tmp_path):
    config = yaml.safe_load((REPO / "tests" / "tiny_config.yaml").read_text())
    (tmp_path / "vggish_model.ckpt").write_bytes(b"stands in for the official checkpoint in a dry run")
    config["vggish"] = {"source": "checkpoint", "checkpoint": str(tmp_path / "vggish_model.ckpt")}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "config.yaml"),
            "--cores",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert re.search(r"^convert_vggish\s+1$", output, re.MULTILINE)
    embed_inputs = [block for block in output.split("rule embed:")[1:]]
    assert len(embed_inputs) == 2 and all("results/vggish_checkpoint/savedmodel" in b.split("output:")[0] for b in embed_inputs)
