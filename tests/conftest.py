"""Shared fixtures: small real media files made with ffmpeg's test sources, and one run of the tiny config."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import opensmile  # noqa: F401 - before any test imports TensorFlow: loaded after it, openSMILE's native library crashes the process
import pandas as pd
import pytest
import yaml

from workflow_rules import REPO

TINY_CONFIG = REPO / "tests" / "tiny_config.yaml"
TINY = yaml.safe_load(TINY_CONFIG.read_text())

# Modules that share the session's `tiny_run`: with pytest-xdist (bin/test) they run in one worker
# (pytest_xdist_make_scheduler below), so the tiny workflow runs once per test run, not once per module.
SHARED_RUNS = {"tiny_run": ("test_workflow", "test_slurm", "test_interrupted", "test_full_disk")}
LONG_MODULES = ("test_staleness", "test_workflow_kinds", "test_accounting")  # each runs workflows of its own


def make_clip(path: Path, *, seconds: float = 6.0, audio: bool = True, tone_hz: float = 440.0) -> Path:
    """Encode a small H.264/AAC mp4 from ffmpeg's test sources (44.1 kHz stereo audio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=10:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=44100:duration={seconds}", "-ac", "2", "-c:a", "aac"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(command, check=True)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """A folder with a normal clip, a short one, one without audio and a corrupt file."""
    folder = tmp_path_factory.mktemp("media")
    make_clip(folder / "normal_clip.001.mp4", seconds=6.0)
    make_clip(folder / "short__clip.002.mp4", seconds=3.0)
    make_clip(folder / "silent_clip.003.mp4", seconds=6.0, audio=False)
    (folder / "broken_clip.004.mp4").write_bytes(b"this is not an mp4 file")
    return folder


@pytest.fixture(scope="session")
def served_run(tmp_path_factory):
    """A finished run in miniature (`served_run.build`): the web page's tests serve its models."""
    from served_run import build  # imports TensorFlow: only in the sessions that need it, after openSMILE

    return build(tmp_path_factory.mktemp("served"))


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (mount's syntax: 64k, 6m) mounted on `folder`, unmounted afterwards; the test
    is skipped, with the reason, where this machine does not allow mounts (not root, a container)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def snakemake_tiny(workdir: Path, *args: str, config: Path = TINY_CONFIG, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Snakemake on this checkout's workflow and the tiny config (or another), in `workdir`, on 2 cores."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(config)]
    return subprocess.run([*command, "--cores", "2", *args], capture_output=True, text=True, timeout=timeout)


def copy_workflow(target: Path) -> None:
    """Copy what a user's checkout holds (workflow, package, bin/ and its requirements) into `target`."""
    for name in ("Snakefile", "config.yaml", "requirements.txt"):
        shutil.copy(REPO / name, target / name)
    for name in ("bin", "rules", "scripts", "src", "schemas", "envs", "profiles"):
        shutil.copytree(REPO / name, target / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))


USER_RUN = ("bash", "bin/run", "--configfile", "tiny.yaml")
"""The README's run command as a user types it for their own config, in a folder from `user_checkout`."""


def user_checkout(folder: Path, models: tuple[str, ...]) -> Path:
    """A checkout of the workflow in `folder` (its .venv a link to this one's) with tiny.yaml: the tiny config cut to `models`."""
    copy_workflow(folder)
    (folder / ".venv").symlink_to(REPO / ".venv")
    (folder / "tiny.yaml").write_text(yaml.safe_dump({**TINY, "models": {**TINY["models"], "enabled": list(models)}}))
    return folder


@dataclass
class TinyRun:
    workdir: Path
    results: Path  # workdir/results/<dataset>
    seconds: float  # wall time of the run from scratch


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> TinyRun:
    """The tiny config run once from scratch: the end-to-end tests read it, the SLURM and kill tests compare with it."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    start = time.monotonic()
    result = snakemake_tiny(workdir)
    seconds = time.monotonic() - start
    print(f"\ntiny run from scratch: {seconds:.0f} s wall, exit {result.returncode}")
    assert result.returncode == 0, result.stderr[-5000:]
    return TinyRun(workdir, workdir / "results" / TINY["dataset"]["name"], seconds)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadfile` (bin/test): each test module in one worker, and the modules of a shared
    run together, so that module and shared fixtures are built once. (xdist's own `loadgroup` marks
    do not reach its scheduler under pytest 9.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    shared = {module: group for group, modules in SHARED_RUNS.items() for module in modules}

    class SharedRunScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return shared.get(Path(path).stem, path)

    return SharedRunScheduling(config, log)


def pytest_collection_modifyitems(items):
    """The longest units of work first (a shared run's modules, then the other workflow runs), so that none starts last."""
    shared = {module for modules in SHARED_RUNS.values() for module in modules}
    items.sort(key=lambda item: 0 if item.path.stem in shared else 1 if item.path.stem in LONG_MODULES else 2)  # stable


def assert_same_outputs(results: Path, clean: Path, models: tuple[str, ...]) -> None:
    """A run's outputs (one that was killed, ran out of disk or ran on SLURM) equal the clean `tiny_run`'s:
    tables and caches byte for byte (the files it has, which must be among the clean run's), every
    prediction of `models` to 1e-6, and no temporary file left."""
    assert not [str(p) for p in results.rglob(".*.tmp*")], "temporary files left behind"
    for name in ("clips.tsv", "manifest.tsv", "excluded.tsv"):
        if name != "excluded.tsv" or (results / name).exists():  # a slice of the DAG may not reach the exclusions
            assert (results / name).read_bytes() == (clean / name).read_bytes(), name
    for pattern in ("features/**/*", "probe/*.tsv", "wav/*/*.wav"):
        files = {p.relative_to(results) for p in results.glob(pattern) if p.is_file()}
        assert files and files <= {p.relative_to(clean) for p in clean.glob(pattern) if p.is_file()}, (pattern, sorted(files))
        different = [str(p) for p in sorted(files) if (results / p).read_bytes() != (clean / p).read_bytes()]
        assert not different, f"not byte-identical to the clean run: {different}"
    for model in models:
        predictions = sorted((clean / "models" / model).glob("predictions_*.csv"))
        assert predictions, f"no predictions of {model}"
        for csv in predictions:
            expected, got = pd.read_csv(csv), pd.read_csv(results / "models" / model / csv.name)
            assert list(got.columns) == list(expected.columns) and list(got["clip_id"]) == list(expected["clip_id"]), (model, csv.name)
            values = [c for c in expected.columns if c != "clip_id"]
            np.testing.assert_allclose(got[values].to_numpy(float), expected[values].to_numpy(float), rtol=0, atol=1e-6, err_msg=f"{model}/{csv.name}")
