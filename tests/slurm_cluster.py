"""A throw-away one-node SLURM cluster on 127.0.0.1, for testing the workflow's SLURM profile.

Debian's `slurmctld`, `slurmd`, `slurm-client` and `munge` packages are installed with apt-get
when missing (root only). Nothing is started through systemd: `munged` (as user munge, unless
one already answers), `slurmctld` and `slurmd` run in the foreground as children of this process,
with every configuration, state and log file in one folder that `SLURM_CONF` points the slurm
commands to. The node copies this machine's CPU layout (`slurmd -C`) and carries fake GPUs
(`gres.conf` ties each to /dev/null), so that a job that asks for a GPU gets one allocated and
`CUDA_VISIBLE_DEVICES` set, although no GPU exists. A task prolog writes each task's
`SLURM_JOB_ID` and `CUDA_VISIBLE_DEVICES` into the job's log. There is no accounting database
(no `sacct` history): finished jobs stay visible to `squeue` and `scontrol` for an hour
(`MinJobAge`).

    cluster = Cluster(folder)
    cluster.start()          # a few seconds
    ...                      # sbatch etc. with env=cluster.env
    cluster.stop()           # cancels its jobs and stops the daemons it started, by pid
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
COMMANDS = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol", "sinfo", "scancel")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
MUNGE_SOCKET_DIR = Path("/run/munge")
MIN_NODE_MEMORY_MB = 65536  # memory is not enforced here (no cgroups); enough for any profile request
TASK_PROLOG_TAG = "slurm-test-task"


def tool(name: str) -> str | None:
    """The path of a command, looked up in sbin folders too."""
    return shutil.which(name, path=SEARCH_PATH)


def missing_commands() -> list[str]:
    return [name for name in COMMANDS if tool(name) is None]


def unavailable_reason() -> str | None:
    """Why a cluster cannot run on this machine (None: it can, possibly after installing packages)."""
    if not sys.platform.startswith("linux"):
        return f"a local SLURM cluster needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return f"starting slurmd and munged needs root (running as uid {os.geteuid()})"
    missing = missing_commands()
    if missing and tool("apt-get") is None:
        return f"{', '.join(missing)} not installed, and no apt-get to install {' '.join(PACKAGES)}"
    return None


def install_packages(log=print) -> str | None:
    """Install the slurm and munge packages with apt-get when commands are missing.

    Returns None when everything is there, else why the installation failed.
    """
    missing = missing_commands()
    if not missing:
        return None
    log(f"installing {' '.join(PACKAGES)} with apt-get (missing: {', '.join(missing)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = tool("apt-get")
    for command in ([apt, "update", "-q"], [apt, "install", "-y", "-q", "--no-install-recommends", *PACKAGES]):
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            return f"'{' '.join(command)}' took more than 15 minutes"
        if result.returncode != 0:
            return f"'{' '.join(command)}' failed ({result.returncode}): {(result.stdout + result.stderr)[-1500:]}"
    still = missing_commands()
    return f"still missing after apt-get: {', '.join(still)}" if still else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_layout() -> dict[str, str]:
    """This machine's CPU layout as slurm.conf node fields (`slurmd -C`), memory raised to a floor."""
    out = subprocess.run([tool("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(w.split("=", 1) for w in out.splitlines()[0].split() if "=" in w)
    fields.pop("NodeName", None)
    fields["RealMemory"] = str(max(int(fields.get("RealMemory", 0)), MIN_NODE_MEMORY_MB))
    return fields


def munge_works() -> bool:
    """Whether a munged answers on the default socket (a credential round trip)."""
    try:
        encoded = subprocess.run([tool("munge"), "-n"], capture_output=True, timeout=10)
        if encoded.returncode != 0:
            return False
        decoded = subprocess.run([tool("unmunge")], input=encoded.stdout, capture_output=True, timeout=10)
        return decoded.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _die_with_parent() -> None:
    """In a daemon's process before exec: SIGTERM it when this process dies, even by SIGKILL."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Cluster:
    """One node (`node`), partitions `cpu` (default) and `gpu`, `gpus` fake GPUs, in `folder`."""

    def __init__(self, folder: Path, *, gpus: int = 1, partitions: tuple[str, ...] = ("cpu", "gpu"), log=print):
        self.folder = Path(folder)
        self.gpus = gpus
        self.partitions = partitions
        self.node = "node1"
        self.log = log
        self.conf = self.folder / "slurm.conf"
        self.bin = self.folder / "bin"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf), "PATH": os.pathsep.join([str(self.bin), os.environ.get("PATH", "")])}
        self.daemons: dict[str, subprocess.Popen] = {}
        self.cpus = 0  # the node's CPUs, known once the configuration is written

    # -- set-up ---------------------------------------------------------------------------

    def write_config(self) -> None:
        f = self.folder
        for sub in ("state", "spool"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        host = socket.gethostname().split(".")[0]  # slurmctld only runs on the host slurm.conf names
        # Inside a job, snakemake-executor-plugin-slurm-jobstep calls srun with every SLURM_*
        # variable removed, SLURM_CONF too (its issue #164), and srun then looks for
        # /etc/slurm/slurm.conf. This srun, first on the jobs' PATH, puts SLURM_CONF back.
        self.bin.mkdir(parents=True, exist_ok=True)
        srun = self.bin / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {tool("srun")} "$@"\n')
        srun.chmod(0o755)
        prolog = f / "task_prolog.sh"
        prolog.write_text(
            "#!/bin/sh\n"
            "# Lines a task prolog prints as 'print ...' go to the task's output: the job's log.\n"
            f'echo "print {TASK_PROLOG_TAG} SLURM_JOB_ID=$SLURM_JOB_ID SLURM_STEP_ID=$SLURM_STEP_ID '
            'SLURM_JOB_PARTITION=$SLURM_JOB_PARTITION CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"\n'
        )
        prolog.chmod(0o755)
        layout = node_layout()
        self.cpus = int(layout["CPUs"])
        node = " ".join(f"{key}={value}" for key, value in layout.items())
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        partitions = "\n".join(
            f"PartitionName={name} Nodes={self.node} MaxTime=INFINITE State=UP{' Default=YES' if i == 0 else ''}" for i, name in enumerate(self.partitions)
        )
        self.conf.write_text(f"""\
# A one-node test cluster: written by tests/slurm_cluster.py, removed with its folder.
ClusterName=impressions-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={f}/state
SlurmdSpoolDir={f}/spool
SlurmctldPidFile={f}/slurmctld.pid
SlurmdPidFile={f}/slurmd.pid
SlurmctldLogFile={f}/slurmctld.log
SlurmdLogFile={f}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog={prolog}
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
# Schedule pending jobs every second (default 60 s; job ends trigger a pass too).
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default memory per CPU every job takes the whole node's memory: one job at a time.
DefMemPerCPU=1000
# The node's memory is raised above what this machine has (nothing enforces it here); keep
# the configured values instead of draining the node for it.
SlurmdParameters=config_overrides
ReturnToService=2
# Finished jobs stay in squeue and scontrol this long (the default is 300 s): the status checks
# (squeue, there being no accounting) rely on it, and so does describing jobs after a long run.
MinJobAge=3600
MailProg=/bin/true
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 {node}{gres} State=UNKNOWN
{partitions}
""")
        # A GPU without a device file is dropped (and the node drained): tie each to /dev/null.
        (f / "gres.conf").write_text("Name=gpu File=/dev/null\n" * self.gpus)

    def start(self, timeout: float = 60) -> None:
        self.write_config()
        self.start_munge()
        self.daemons["slurmctld"] = self.spawn("slurmctld", [tool("slurmctld"), "-D", "-i"])
        self.wait_for(lambda: self.scontrol_ok("ping"), "slurmctld to answer", timeout)
        self.daemons["slurmd"] = self.spawn("slurmd", [tool("slurmd"), "-D", "-N", self.node])
        self.wait_for(lambda: self.node_state() in {"idle", "mixed", "allocated"}, "the node to be idle", timeout)
        self.log(f"slurm cluster up in {self.folder}: " + ", ".join(f"{n} pid {p.pid}" for n, p in self.daemons.items()))

    def start_munge(self) -> None:
        if munge_works():
            self.log("munged already running: using it (and leaving it running)")
            return
        MUNGE_SOCKET_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(MUNGE_SOCKET_DIR, "munge", "munge")
        MUNGE_SOCKET_DIR.chmod(0o755)
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run([tool("mungekey") or "mungekey", "--create", f"--keyfile={key}"], check=True)
            shutil.chown(key, "munge", "munge")
            key.chmod(0o600)
        self.daemons["munged"] = self.spawn("munged", [tool("munged"), "--foreground"], user="munge")
        self.wait_for(munge_works, "munged to answer", 30)

    def spawn(self, name: str, command: list[str], user: str | None = None) -> subprocess.Popen:
        out = open(self.folder / f"{name}.out", "ab")
        kwargs = {"user": user, "group": user, "extra_groups": []} if user else {}
        process = subprocess.Popen(
            command, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent, **kwargs
        )
        out.close()
        return process

    def wait_for(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.daemons.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}\n{self.logs()}")
            if ready():
                return
            time.sleep(0.3)
        raise TimeoutError(f"no {what} after {timeout:.0f} s\n{self.logs()}")

    # -- queries --------------------------------------------------------------------------

    def run(self, *command: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([tool(command[0]) or command[0], *command[1:]], env=self.env, capture_output=True, text=True, timeout=timeout, check=check)

    def scontrol_ok(self, *args: str) -> bool:
        try:
            return self.run("scontrol", *args, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def node_state(self) -> str:
        result = self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%T", check=False)
        lines = result.stdout.split() if result.returncode == 0 else []
        return lines[0].rstrip("*~#!%$@^-").lower() if lines else ""

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job -d`, as a dict (a finished job is shown for MinJobAge seconds)."""
        result = self.run("scontrol", "show", "job", "-d", "-o", str(job_id), check=False)
        fields = dict(re.findall(r"(\S+?)=(\S*)", result.stdout)) if result.returncode == 0 else {}
        fields["_raw"] = (result.stdout or result.stderr).strip()
        return fields

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out", "munged.out"):
            path = self.folder / name
            if path.exists():
                parts.append(f"--- {path} (end)\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    # -- tear-down ------------------------------------------------------------------------

    def stop(self) -> None:
        """Cancel the cluster's jobs, then stop the daemons this object started (by pid)."""
        if "slurmctld" in self.daemons and self.daemons["slurmctld"].poll() is None:
            try:
                jobs = self.run("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i", check=False).stdout.split()
                if jobs:
                    self.log(f"cancelling slurm jobs {' '.join(jobs)}")
                    self.run("scancel", *jobs, check=False)
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline and self.run("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i", check=False).stdout.split():
                        time.sleep(0.5)
            except (OSError, subprocess.TimeoutExpired) as error:
                self.log(f"could not cancel the cluster's jobs: {error}")
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.daemons.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            self.log(f"stopped {name} (pid {process.pid})")
