"""Killed runs and two runs at once, as a user meets them, through `bin/run` itself.

The workflow is copied into a temporary folder (its .venv a link to this checkout's) with the tiny
config cut to three models. `bin/run` is killed with SIGKILL, its whole process group as when a
terminal or a job's allocation goes away, at seeded moments, three times, and after each kill the
same command must finish, say that the last run was interrupted, and leave caches byte-identical
to the session's clean run (conftest's `tiny_run`) and the same predictions, with no temporary file
and no lock behind: (1) inside a per-shard `embed` job of the first run; (2) inside a `train` job,
after the user deleted that model's folder to train it again; (3) early in a run, just after
Snakemake locked the folder to start its jobs, after the user touched a clip. The group is stopped
(SIGSTOP) before the kill, so whether the job was still running is read where the kill lands.
A second `bin/run` started while the first one works must stop at once.
"""

from __future__ import annotations

import os
import random
import shutil
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
    """Kill the run `delay_s` after a job of `rule` logged its start (no rule: after Snakemake locked the folder)."""

    rule: str | None
    delay_s: float
    inside: bool = False  # the job had not finished when the kill came
    rerun: subprocess.CompletedProcess | None = None  # the same command, run after the kill
    difference: str = ""  # how the outputs after the rerun differ from a clean run's ("" if they do not)


def kill_points() -> list[Kill]:
    rng = random.Random(SEED)
    # A tiny training job runs for about a second after its log's first line (TensorFlow is imported before it).
    return [Kill("embed", rng.uniform(0.3, 1.5)), Kill("train", rng.uniform(0.1, 0.5)), Kill(None, rng.uniform(0.1, 1.0))]


def before_kill(folder: Path, number: int) -> None:
    """What the user did before the run that is killed: nothing, retrain a model, replace a clip."""
    results = folder / "results" / DATASET
    if number == 1:
        shutil.rmtree(results / "models" / "vggish_head")
    elif number == 2:
        next((results / "raw").rglob("*.mp4")).touch()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return user_checkout(tmp_path_factory.mktemp("interrupted"), MODELS)


def bin_run(folder: Path, *args: str) -> subprocess.Popen:
    """The README's run command, with the user's config file, in its own process group."""
    return subprocess.Popen([*USER_RUN, *args], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def running_job(folder: Path, rule: str, since: float) -> bool:
    """Whether a job of `rule` started since `since` (a time) and has not finished: its log, written
    since then, says it started and not that it finished (Snakemake removes a rerun job's old log)."""
    for log in (folder / "results" / DATASET / "logs" / rule).glob("*.log"):
        text = log.read_text(errors="replace")
        if log.stat().st_mtime >= since and text.count(f"rule {rule} (") > text.count(f"rule {rule} finished"):
            return True
    return False


def locked(folder: Path) -> bool:
    """Whether Snakemake has locked the folder: its DAG is built and its first jobs are starting."""
    return any((folder / ".snakemake" / "locks").glob("*"))


def run_and_kill(folder: Path, kill: Kill, *, also=None, limit_s: float = 600) -> str:
    """Start bin/run, wait for the kill point (calling `also()` once there), stop the group (SIGSTOP), note
    whether the kill point's job is still running, and SIGKILL the group; bin/run's stderr."""
    since = time.time()
    process = bin_run(folder)
    start = time.monotonic()
    while not (running_job(folder, kill.rule, since) if kill.rule else locked(folder)):
        assert process.poll() is None, f"bin/run ended (exit {process.returncode}) before the kill point:\n{process.stderr.read()[-3000:]}"
        assert time.monotonic() - start < limit_s, f"no kill point ({kill.rule or 'a lock'}) within {limit_s} s"
        time.sleep(0.05)
    if also:
        also()
    time.sleep(kill.delay_s)
    assert process.poll() is None, "bin/run ended before the kill"
    os.killpg(process.pid, signal.SIGSTOP)  # frozen, so that where the kill lands is what is seen now
    kill.inside = running_job(folder, kill.rule, since) if kill.rule else locked(folder)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return process.stderr.read()


@pytest.fixture(scope="module")
def resumed(folder, tiny_run) -> tuple[list[Kill], list[str]]:
    """The kills, each with the rerun after it and how its outputs compare, and what the second run said."""
    kills, second = kill_points(), []

    def start_a_second_run():
        started = time.monotonic()
        result = subprocess.run(USER_RUN, cwd=folder, capture_output=True, text=True, timeout=60)
        second.extend([str(result.returncode), result.stderr, f"{time.monotonic() - started:.1f}"])

    for number, kill in enumerate(kills):
        before_kill(folder, number)
        run_and_kill(folder, kill, also=start_a_second_run if number == 0 else None)
        kill.rerun = subprocess.run(USER_RUN, cwd=folder, capture_output=True, text=True, timeout=1200)
        try:
            assert_same_outputs(folder / "results" / DATASET, tiny_run.results, MODELS)
        except AssertionError as error:
            kill.difference = str(error)
        after = f"a {kill.rule} job logged its start" if kill.rule else "Snakemake locked the folder"
        print(
            f"kill {number + 1}: SIGKILL {kill.delay_s:.2f} s after {after} (job still running: {kill.inside}); "
            f"the same command then exited {kill.rerun.returncode}, outputs {'equal to a clean run' if not kill.difference else 'DIFFERENT'}"
        )
    return kills, second


def test_a_second_run_in_the_same_folder_stops_at_once_and_says_why(resumed):
    _, (returncode, stderr, seconds) = resumed
    assert int(returncode) == BUSY, stderr
    assert "another run is in progress" in stderr and "nothing was changed" in stderr and "run the same command again" in stderr
    assert float(seconds) < 10 and "Traceback" not in stderr


def test_the_kills_came_where_they_were_meant_to(resumed):
    kills, _ = resumed
    assert [kill.inside for kill in kills] == [True] * len(kills), kills


def test_after_each_kill_the_same_command_finishes_and_says_what_happened(resumed, folder):
    kills, _ = resumed
    for number, kill in enumerate(kills, start=1):
        assert kill.rerun.returncode == 0, (number, kill.rerun.stderr[-5000:])
        assert "the last run here was interrupted" in kill.rerun.stderr, (number, kill.rerun.stderr[-3000:])
    assert not list((folder / ".snakemake" / "locks").glob("*"))
    dry = subprocess.run([*USER_RUN, "-n"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]


def test_after_each_kill_the_outputs_equal_a_clean_runs(resumed):
    kills, _ = resumed
    assert [(number, kill.difference) for number, kill in enumerate(kills, start=1) if kill.difference] == []
