"""CPU that Snakemake's own process spends scheduling a local run, with and without its job-rate limiter.

Builds a throwaway workflow of `--jobs` jobs that each sleep `--seconds` (so nearly all CPU time
is Snakemake's), each with inputs of its own and a shared set of source files, as our rules have,
and runs it twice on 2 cores in the same command: as Snakemake leaves it, and with
rules/scheduler.smk included (the limiter off, as the workflow does). The CPU time is the
Snakemake process's with its children (the sleeps cost nothing).

    .venv/bin/python bench/scheduler_load.py [--jobs 120] [--seconds 1.5]

One line per run: ``scheduler_load: limiter=<on|off> jobs=.. wall_s=.. cpu_s=..``, then
``scheduler_load: cpu_ratio_on_to_off=..``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SNAKEFILE = """
{include}
SOURCES = [f"src/{{i}}.py" for i in range(20)]

rule all:
    input: expand("out/{{i}}.done", i=range({jobs}))

rule data:
    output: "data/{{i}}.txt"
    shell: "touch {{output}}"

rule job:
    input: data="data/{{i}}.txt", code=SOURCES
    output: "out/{{i}}.done"
    shell: "sleep {seconds}; touch {{output}}"
"""


def run(folder: Path, *, limiter: bool, jobs: int, seconds: float) -> tuple[float, float]:
    """(wall seconds, CPU seconds of Snakemake and its children) of one run in `folder`."""
    include = "" if limiter else f'include: "{REPO / "rules" / "scheduler.smk"}"'
    (folder / "Snakefile").write_text(SNAKEFILE.format(include=include, jobs=jobs, seconds=seconds))
    (folder / "src").mkdir(exist_ok=True)
    for i in range(20):
        (folder / "src" / f"{i}.py").touch()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet", "all"], cwd=folder, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    cpu = {}
    for limiter in (True, False):
        with tempfile.TemporaryDirectory(prefix="impressions-scheduler-") as folder:
            wall, cpu[limiter] = run(Path(folder), limiter=limiter, jobs=args.jobs, seconds=args.seconds)
        print(f"scheduler_load: limiter={'on' if limiter else 'off'} jobs={2 * args.jobs} wall_s={wall:.1f} cpu_s={cpu[limiter]:.1f}", flush=True)
    print(f"scheduler_load: cpu_ratio_on_to_off={cpu[True] / cpu[False]:.2f}")


if __name__ == "__main__":
    main()
