"""rules/scheduler.smk: a local run schedules without Snakemake's job-rate limiter."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The onsuccess handler runs in Snakemake's own process, after the scheduler has run all jobs.
SNAKEFILE = """
from pathlib import Path
{include}
rule all:
    output: "done.txt"
    shell: "touch {{output}}"

onsuccess:
    limiter = workflow.scheduler.job_rate_limiter
    Path("limiter.txt").write_text("none" if limiter is None else f"{{limiter.max_jobs}} per {{limiter.timespan}} s")
"""


@pytest.mark.parametrize("included, expected", [(True, "none"), (False, "100 per 1.0 s")])
def test_a_local_run_has_no_job_rate_limiter_once_the_rule_file_is_included(tmp_path, included, expected):
    include = f'include: "{REPO / "rules" / "scheduler.smk"}"' if included else ""
    (tmp_path / "Snakefile").write_text(SNAKEFILE.format(include=include))
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--quiet"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    assert (tmp_path / "limiter.txt").read_text() == expected  # without the rule file, Snakemake's default 100/1s
