"""A full disk, as a user meets it: the results folder on a small filesystem that fills during the run.

The workflow is copied into a temporary folder (its .venv a link to this checkout's) with the tiny
config cut to three models, and its `results/` is a tmpfs (conftest's `small_disk`) that holds the
generated clips and their wavs but not the feature caches. `bin/run` must stop with a message that
names the problem and what to do, leave no partial file under a final name and no clip excluded for
the disk's fault; after space is freed (the tmpfs grown) the same command finishes, with outputs
equal to the session's clean run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import TINY, USER_RUN, assert_same_outputs, small_disk, user_checkout

MODELS = ("vggish_head", "clip_cnn", "knn")
DATASET = TINY["dataset"]["name"]
SMALL, LARGE = "6m", "200m"  # the tiny set: 2.2 MB of clips, 3 MB of wav, 9 MB of feature caches


def bin_run(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(USER_RUN, cwd=folder, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def full_then_freed(tmp_path_factory):
    folder = user_checkout(tmp_path_factory.mktemp("full_disk"), MODELS)
    with small_disk(folder / "results", SMALL) as disk:
        full = bin_run(folder)
        left = {path.relative_to(disk): path.read_bytes() for path in disk.rglob("*") if path.is_file()}
        subprocess.run(["mount", "-o", f"remount,size={LARGE}", str(disk)], check=True)  # space freed
        freed = bin_run(folder)
        yield folder, full, left, freed


def test_the_run_stops_with_a_message_that_names_the_problem(full_then_freed):
    folder, full, _, _ = full_then_freed
    output = full.stdout + full.stderr
    assert full.returncode != 0, output[-3000:]
    assert "no space left on the disk of" in output and "then run the same command again" in output, output[-5000:]
    assert str(folder / "results" / DATASET) in output


def test_what_the_full_disk_left_under_final_names_is_complete(full_then_freed, tiny_run):
    _, _, left, _ = full_then_freed
    assert not [str(path) for path in left if path.name.startswith(".") and ".tmp" in path.name], "temporary files left"
    deterministic = [p for p in left if p.parts[1] in ("raw", "wav", "features", "probe") or p.name in ("clips.tsv", "manifest.tsv")]
    assert deterministic, sorted(left)
    partial = [str(p) for p in deterministic if (tiny_run.results.parent / p).read_bytes() != left[p]]
    assert not partial, f"files under their final names that differ from a clean run's: {partial}"
    if Path(DATASET, "excluded.tsv") in left:  # the disk's fault never becomes a clip's exclusion
        assert left[Path(DATASET, "excluded.tsv")] == (tiny_run.results / "excluded.tsv").read_bytes()


def test_after_space_is_freed_the_same_command_finishes_like_a_clean_run(full_then_freed, tiny_run):
    folder, _, _, freed = full_then_freed
    assert freed.returncode == 0, (freed.stdout + freed.stderr)[-5000:]
    assert_same_outputs(folder / "results" / DATASET, tiny_run.results, MODELS)
