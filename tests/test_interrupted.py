"""Killed runs and two runs at once, as a user meets them, through `bin/run` itself.

The workflow is copied into a temporary folder (its .venv a link to this checkout's) with the tiny
config cut to three models. `bin/run` is killed with SIGKILL, its whole process group as when a
terminal or a job's allocation goes away, at seeded moments: inside a per-shard job, inside a
training job, and early in a resumed run. A second `bin/run` started while the first runs must stop
at once. After the kills, the same command must finish, say that the last run was interrupted, and
leave caches byte-identical to the session's clean run (conftest's `tiny_run`) and the same
predictions, with no temporary file and no lock left behind.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import TINY, USER_RUN, assert_same_outputs, user_checkout

SEED = 11
MODELS = ("vggish_head", "clip_cnn", "knn")
DATASET = TINY["dataset"]["name"]
BUSY = 75  # bin/run's exit status when a run is in progress in its folder


@dataclass
class Kill:
    """Kill the run `delay_s` after a job of `rule` logged its start (no rule: after the run started)."""

    rule: str | None
    delay_s: float
    inside: bool = False  # the job had not finished when the kill came
    rerun: str = ""


def kill_points() -> list[Kill]:
    rng = random.Random(SEED)
    return [Kill("embed", rng.uniform(0.3, 1.5)), Kill("train", rng.uniform(0.5, 3.0)), Kill(None, rng.uniform(3.0, 8.0))]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return user_checkout(tmp_path_factory.mktemp("interrupted"), MODELS)


def bin_run(folder: Path, *args: str) -> subprocess.Popen:
    """The README's run command, with the user's config file, in its own process group."""
    return subprocess.Popen([*USER_RUN, *args], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def running_job(folder: Path, rule: str, seen: dict[Path, int]) -> bool:
    """Whether a job of `rule` has logged a start since `seen` (start counts per log) and not finished."""
    for log in sorted((folder / "results" / DATASET / "logs" / rule).glob("*.log")):
        text = log.read_text(errors="replace")
        started, finished = text.count(f"rule {rule} ("), text.count(f"rule {rule} finished")
        if started > seen.get(log, 0) and started > finished:
            return True
    return False


def start_counts(folder: Path, rule: str) -> dict[Path, int]:
    return {log: log.read_text(errors="replace").count(f"rule {rule} (") for log in (folder / "results" / DATASET / "logs" / rule).glob("*.log")}


def run_and_kill(folder: Path, kill: Kill, *, also=None, limit_s: float = 600) -> str:
    """Start bin/run, wait for the kill point (calling `also()` once there), SIGKILL the group; bin/run's stderr."""
    seen = start_counts(folder, kill.rule) if kill.rule else {}
    process = bin_run(folder)
    start = time.monotonic()
    while kill.rule and not running_job(folder, kill.rule, seen):
        assert process.poll() is None, f"bin/run ended (exit {process.returncode}) before a {kill.rule} job started:\n{process.stderr.read()[-3000:]}"
        assert time.monotonic() - start < limit_s, f"no {kill.rule} job started within {limit_s} s"
        time.sleep(0.05)
    if also:
        also()
    time.sleep(kill.delay_s)
    kill.inside = kill.rule is None or running_job(folder, kill.rule, seen)
    assert process.poll() is None, "bin/run ended before the kill"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return process.stderr.read()


@pytest.fixture(scope="module")
def resumed(folder) -> tuple[list[Kill], list[str], subprocess.CompletedProcess]:
    """The kills, what the second run said, and the final run of the same command."""
    kills, second = kill_points(), []

    def start_a_second_run():
        started = time.monotonic()
        result = subprocess.run(USER_RUN, cwd=folder, capture_output=True, text=True, timeout=60)
        second.extend([str(result.returncode), result.stderr, f"{time.monotonic() - started:.1f}"])

    for number, kill in enumerate(kills):
        run_and_kill(folder, kill, also=start_a_second_run if number == 0 else None)
        after = f"a {kill.rule} job logged its start" if kill.rule else "bin/run started"
        print(f"kill {number + 1}: SIGKILL {kill.delay_s:.2f} s after {after}; job still running: {kill.inside}")
    final = subprocess.run(USER_RUN, cwd=folder, capture_output=True, text=True, timeout=1200)
    return kills, second, final


def test_a_second_run_in_the_same_folder_stops_at_once_and_says_why(resumed):
    _, (returncode, stderr, seconds), _ = resumed
    assert int(returncode) == BUSY, stderr
    assert "another run is in progress" in stderr and "nothing was changed" in stderr and "run the same command again" in stderr
    assert float(seconds) < 10 and "Traceback" not in stderr


def test_the_kills_came_where_they_were_meant_to(resumed):
    kills, _, _ = resumed
    assert [kill.inside for kill in kills] == [True] * len(kills), kills


def test_the_same_command_resumes_after_each_kill_and_says_what_happened(resumed, folder):
    _, _, final = resumed
    assert final.returncode == 0, final.stderr[-5000:]
    assert "the last run here was interrupted" in final.stderr
    assert not list((folder / ".snakemake" / "locks").glob("*"))
    dry = subprocess.run([*USER_RUN, "-n"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]


def test_resumed_outputs_equal_a_clean_runs(resumed, folder, tiny_run):
    assert_same_outputs(folder / "results" / DATASET, tiny_run.results, MODELS)
