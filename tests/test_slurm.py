"""The SLURM profile: its settings, and the tiny workflow run through it on a real SLURM cluster.

The first tests read profiles/slurm and dry-run it (no cluster needed). The others start a
one-node cluster on 127.0.0.1 with one fake GPU (tests/slurm_cluster.py: Debian's slurm and munge
packages are installed with apt-get when missing), run a slice of the tiny config through
`--executor slurm` with the profile as it is (every per-shard job, and four models: a Keras head,
a CNN, the CAM model that starts from the CNN's weights, and a scikit-learn one), check where each
job ran and that the training jobs had a GPU allocated, and compare every output with the
session's local run of the same config (conftest's `tiny_run`). A slice, because each SLURM job
waits for the plugin's status checks: the whole DAG took minutes longer and tested nothing more.
Where the machine cannot run a cluster (not root, no apt-get, packages not installable) they are
skipped with the reason. Run with `-n 0 -s` to see the SLURM job ids, their allocations and the
wall times.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import slurm_cluster
from conftest import assert_same_outputs
from workflow_rules import REPO, rules

CONFIG = REPO / "tests" / "tiny_config.yaml"
TINY = yaml.safe_load(CONFIG.read_text())
DATASET = TINY["dataset"]["name"]
PROFILE_DIR = REPO / "profiles" / "slurm"
PROFILE = yaml.safe_load((PROFILE_DIR / "config.yaml").read_text())
DEFAULT_PROFILE = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
RUN_LIMIT_S = 900  # the SLURM run of the slice takes about 3 minutes on 2 cores
SLURM_MODELS = ("vggish_head", "clip_cnn", "clip_cam_cnn", "knn")  # clip_cam_cnn starts from clip_cnn's weights
SLURM_TARGETS = (
    *(f"results/{DATASET}/models/{model}/metrics.json" for model in SLURM_MODELS),
    f"results/{DATASET}/cam/clip_cam_cnn/cams.h5",
)

# Only what this test cluster needs on top of the profile:
CLUSTER_FLAGS = (
    # no accounting database: ask squeue (finished jobs stay there for MinJobAge, an hour here)
    "--slurm-status-command",
    "squeue",
    # first status check after 1 s instead of 40 s (later checks back off by 10 s each)
    "--slurm-init-seconds-before-status-checks",
    "1",
    # keep the logs of successful jobs: they hold the task prolog's environment lines
    "--slurm-keep-successful-logs",
    # no accounts here (plugin 2.8.0 does not read this flag yet: it tries to guess an account
    # with sacct, fails, and submits without one)
    "--slurm-no-account",
)
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.?\s*$")


def snakemake_command(workdir: Path, *args: str, targets: tuple[str, ...] = ()) -> list[str]:
    """The targets come first: after the profile's and plugin's options they could be read as an option's values."""
    return [sys.executable, "-m", "snakemake", *targets, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(CONFIG), *args]


def shard_rules() -> set[str]:
    """Rules with one job per shard: their output path holds the {shard} wildcard."""
    return {name for name, directives in rules().items() if "{shard}" in directives.get("output", "")}


def profile_groups() -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in PROFILE.get("groups", []))


def evaluate(expression, *, attempt: int, threads: int):
    """A profile resource as Snakemake evaluates it (a Python expression, else the string itself)."""
    try:
        return eval(str(expression), {"attempt": attempt, "threads": threads})  # noqa: S307 - our own profile
    except (NameError, SyntaxError):
        return expression


def rule_resource(rule: str, name: str):
    return PROFILE.get("set-resources", {}).get(rule, {}).get(name, PROFILE["default-resources"].get(name))


# -- the profile, without a cluster -------------------------------------------------------


def test_profile_settings():
    assert PROFILE["executor"] == "slurm"
    assert PROFILE["jobs"] == 100 and PROFILE["latency-wait"] == 60 and PROFILE["retries"] == 2
    # A workflow profile replaces profiles/default: its settings must be repeated.
    for key, value in DEFAULT_PROFILE.items():
        assert PROFILE.get(key) == value, f"profiles/slurm lacks profiles/default's {key}: {value}"
    for resource in ("slurm_partition", "mem_mb", "runtime", "cpus_per_task"):
        assert resource in PROFILE["default-resources"], resource
    train = PROFILE["set-resources"]["train"]
    for resource in ("slurm_partition", "mem_mb", "runtime", "cpus_per_task"):
        assert resource in train, f"train: {resource}"
    assert "attempt" in str(PROFILE["default-resources"]["mem_mb"]) and "attempt" in str(train["mem_mb"])


def test_partition_account_and_gpus_are_not_rule_settings():
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        found = re.findall(r"slurm_partition|slurm_account|slurm_extra|\bgres\b|partition", path.read_text())
        assert not found, f"{path.name} sets {found}: site settings belong in profiles/slurm"
    assert "gpu=" in rules()["train"]["resources"], "rule train should declare its GPUs (resources: gpu=...)"


def test_every_per_shard_rule_is_in_the_shard_group():
    groups = profile_groups()
    missing = shard_rules() - set(groups)
    assert not missing, f"per-shard rules missing from profiles/slurm groups: {sorted(missing)}"
    assert set(groups.values()) == {"shard"}
    assert set(groups) <= set(rules()), f"profiles/slurm groups unknown rules: {sorted(set(groups) - set(rules()))}"


@pytest.mark.parametrize("attempt", [1, 3])
def test_dry_run_evaluates_the_resources_and_memory_grows_with_attempt(tmp_path, attempt):
    command = snakemake_command(tmp_path, "--workflow-profile", str(PROFILE_DIR), "-n", "--cores", "2", "--attempt", str(attempt))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    seen = job_resources(output)
    for rule in ("train", "probe", "embed"):
        resources, expected_threads = seen[rule], min(rule_threads(rule), 2)
        for name in ("mem_mb", "runtime", "cpus_per_task", "slurm_partition"):
            expected = evaluate(rule_resource(rule, name), attempt=attempt, threads=expected_threads)
            assert str(resources[name]) == str(expected), (rule, name, resources[name], expected)
    assert seen["train"]["slurm_partition"] != seen["probe"]["slurm_partition"]
    assert int(seen["train"]["gpu"]) >= 1 and "gpu" not in seen["probe"]
    if attempt == 3:
        assert int(seen["train"]["mem_mb"]) == 3 * evaluate(rule_resource("train", "mem_mb"), attempt=1, threads=2)
    assert "Group job shard" in output


def job_resources(dry_run_output: str) -> dict[str, dict[str, str]]:
    """Rule -> the resources line of (one of) its jobs in a dry run, as a dict."""
    found, rule = {}, None
    for line in dry_run_output.splitlines():
        if match := re.match(r"^\s*rule (\w+):\s*$", line):
            rule = match.group(1)
        elif rule and (match := re.match(r"^\s*resources: (.*)$", line)):
            found.setdefault(rule, dict(item.split("=", 1) for item in match.group(1).split(", ") if "=" in item))
    return found


# -- the workflow on a one-node SLURM cluster -------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = slurm_cluster.unavailable_reason()
    if reason:
        pytest.skip(f"no SLURM test cluster here: {reason}")
    failure = slurm_cluster.install_packages()
    if failure:
        pytest.skip(f"no SLURM test cluster here: installing {' '.join(slurm_cluster.PACKAGES)} failed: {failure}")
    test_cluster = slurm_cluster.Cluster(tmp_path_factory.mktemp("slurm"), gpus=1)
    try:
        test_cluster.start()
        yield test_cluster
    finally:
        test_cluster.stop()


@dataclass
class Job:
    job_id: str
    label: str  # rule_<name>/<wildcards> or group_<name>..., from the plugin's log path
    log: Path
    info: dict[str, str] = field(default_factory=dict)  # scontrol show job -d

    @property
    def rule(self) -> str:
        """The rule of a single-rule job ('' for a group job)."""
        top = self.label.split("/")[0]
        return top[len("rule_") :] if top.startswith("rule_") else ""

    @property
    def environment(self) -> list[dict[str, str]]:
        """What the task prolog saw in each task of the job (the batch script, then each srun step)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines() if line.startswith(slurm_cluster.TASK_PROLOG_TAG)]

    def describe(self) -> str:
        steps = "; ".join(f"step {env.get('SLURM_STEP_ID') or 'batch'}: CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES')}" for env in self.environment)
        return (
            f"SLURM job {self.job_id:>3} {self.label:<45} {self.info.get('JobState')} "
            f"ran {self.info.get('RunTime')} partition={self.info.get('Partition')} TRES={self.info.get('TRES')} "
            f"TimeLimit={self.info.get('TimeLimit')} JOB_GRES={self.info.get('JOB_GRES')} [{steps}]"
        )


@dataclass
class Run:
    results: Path
    seconds: float
    returncode: int = 0
    output: str = ""
    jobs: list[Job] = field(default_factory=list)

    def table(self) -> str:
        return "\n".join(job.describe() for job in self.jobs)

    def job_seconds(self) -> int:
        """The SLURM jobs' run times, added up."""
        return sum(seconds(job.info.get("RunTime", "0:0:0")) for job in self.jobs)


def seconds(slurm_duration: str) -> int:
    """[days-]hh:mm:ss as seconds."""
    days, _, clock = slurm_duration.rpartition("-")
    hours, minutes, secs = (int(part) for part in clock.split(":"))
    return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + secs


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory) -> Run:
    workdir = tmp_path_factory.mktemp("slurm_workflow")
    command = [
        "timeout",
        "-k",
        "10",
        str(RUN_LIMIT_S),
        *snakemake_command(workdir, "--workflow-profile", str(PROFILE_DIR), "--cores", str(cluster.cpus), *CLUSTER_FLAGS, targets=SLURM_TARGETS),
    ]
    print("\n$ " + " ".join(command))
    start = time.monotonic()
    result = subprocess.run(command, env=cluster.env, capture_output=True, text=True, timeout=RUN_LIMIT_S + 30)
    run = Run(workdir / "results" / DATASET, time.monotonic() - start, result.returncode, result.stdout + result.stderr)
    logs = workdir / ".snakemake" / "slurm_logs"
    for line in run.output.splitlines():
        if match := SUBMITTED.search(line):
            log = Path(match.group(2))
            label = str(log.parent.relative_to(logs)) if log.is_relative_to(logs) else log.parent.name
            run.jobs.append(Job(match.group(1), label, log, cluster.job(match.group(1))))
    print(
        f"SLURM run: {run.seconds:.0f} s wall, exit {run.returncode}, {len(run.jobs)} SLURM jobs "
        f"(their run times add up to {run.job_seconds()} s)\n{run.table()}"
    )
    assert run.returncode == 0, f"the SLURM run failed ({run.returncode}; 124: ran past {RUN_LIMIT_S} s)\n{run.output[-8000:]}\n{cluster.logs()}"
    return run


def test_every_job_ran_as_a_slurm_job_of_the_profile(slurm_run):
    jobs = slurm_run.jobs
    assert jobs, "no sbatch submission in Snakemake's output"
    assert all(job.info.get("JobState") == "COMPLETED" for job in jobs), slurm_run.table()
    for rule in (f"synthesize_{DATASET}", "sheet", "manifest", "train", "train_sklearn", "evaluate", "cam"):
        assert any(job.rule == rule for job in jobs), f"no SLURM job of rule {rule}:\n{slurm_run.table()}"
    # The per-shard rules ran in shard groups, never as jobs of their own.
    assert not [job.label for job in jobs if job.rule in shard_rules()], slurm_run.table()
    per_job = int(PROFILE["group-components"][0].split("=")[1])
    groups = [job for job in jobs if job.label.startswith("group_shard")]
    assert len(groups) == math.ceil(TINY["dataset"]["n_shards"] / per_job), slurm_run.table()


def test_training_jobs_had_a_gpu_and_the_cpu_jobs_none(slurm_run, cluster):
    trains = [job for job in slurm_run.jobs if job.rule == "train"]
    assert trains, f"no SLURM job of rule train:\n{slurm_run.table()}"
    threads = min(rule_threads("train"), cluster.cpus)
    gpus = configured_gpus()
    assert gpus >= 1, "models.gpus is 0 in the tiny config: the training jobs would ask for no GPU"
    for train in trains:
        assert train.info["Partition"] == evaluate(rule_resource("train", "slurm_partition"), attempt=1, threads=threads)
        assert train.info["JOB_GRES"] == f"gpu:{gpus}", train.describe()
        assert f"gres:gpu:{gpus}" in train.info.get("TresPerJob", ""), train.info["_raw"]
        mem = evaluate(rule_resource("train", "mem_mb"), attempt=1, threads=threads)
        assert f"mem={mem}M" in train.info["TRES"] and f"cpu={threads}" in train.info["TRES"], train.describe()
        minutes = evaluate(rule_resource("train", "runtime"), attempt=1, threads=threads)
        assert train.info["TimeLimit"] == slurm_time(minutes), train.describe()
        # Inside the job: the srun step that ran the rule saw the allocated GPU.
        steps = [env for env in train.environment if env.get("SLURM_STEP_ID")]
        assert steps, f"no task prolog line of a job step in {train.log}"
        for env in steps:
            assert env["SLURM_JOB_ID"] == train.job_id and env["CUDA_VISIBLE_DEVICES"] == "0", train.describe()
    for job in slurm_run.jobs:
        if job.rule != "train":
            assert job.info["Partition"] == PROFILE["default-resources"]["slurm_partition"], job.describe()
            assert job.info.get("JOB_GRES") == "(null)", job.describe()
            assert all(env["CUDA_VISIBLE_DEVICES"] == "unset" for env in job.environment), job.describe()


def configured_gpus() -> int:
    """models.gpus of the tiny run: the tiny config's, else config.yaml's."""
    default = yaml.safe_load((REPO / "config.yaml").read_text())["models"]["gpus"]
    return int(TINY.get("models", {}).get("gpus", default))


def rule_threads(rule: str) -> int:
    return int(rules()[rule].get("threads") or 1)


def slurm_time(minutes: int) -> str:
    """A time limit as scontrol shows it: [days-]hh:mm:ss."""
    days, rest = divmod(minutes, 24 * 60)
    return (f"{days}-" if days else "") + f"{rest // 60:02d}:{rest % 60:02d}:00"


def test_slurm_outputs_equal_the_local_outputs(slurm_run, tiny_run):
    print(
        f"\nwall time from scratch: the whole tiny workflow locally {tiny_run.seconds:.0f} s; its slice on SLURM "
        f"{slurm_run.seconds:.0f} s ({len(slurm_run.jobs)} SLURM jobs, their run times add up to {slurm_run.job_seconds()} s)"
    )
    local, remote = tiny_run.results, slurm_run.results
    assert_same_outputs(remote, local, SLURM_MODELS)
    assert (remote / "cam" / "clip_cam_cnn" / "cams.h5").stat().st_size > 0  # not byte-compared: float sums in another thread count
    for family in ("vggish", "spectrogram"):  # what the slice's models read: every shard of it
        assert sorted(p.name for p in (remote / "features" / family).glob("*.h5")) == sorted(p.name for p in (local / "features" / family).glob("*.h5"))
    assert sorted(path.name for path in (remote / "models").iterdir()) == sorted(SLURM_MODELS)
