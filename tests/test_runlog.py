"""Rule logs: what a rule read and wrote, its timing, and a clear line for bad input."""

import subprocess
import sys

from workflow_rules import REPO

SCRIPT = """
import sys
from types import SimpleNamespace
from pathlib import Path
from impressions.io.errors import InputError
from impressions.io.runlog import rule_log


class Named(list):
    def __init__(self, named):
        super().__init__(v for value in named.values() for v in ([value] if isinstance(value, str) else value))
        self.named = named

    def items(self):
        return self.named.items()


tmp = Path(sys.argv[1])
out, folder = tmp / "out.txt", tmp / "wav"
folder.mkdir()
(folder / "a.wav").write_bytes(b"x")
snakemake = SimpleNamespace(
    log=[str(tmp / "rule.log")], rule="demo", wildcards={"shard": "000"}, threads=1,
    input=Named({"manifest": "m.tsv", "caches": ["a.h5", "b.h5"], "code": ["impressions/x.py"]}),
    output=Named({"table": str(out), "wav": str(folder)}),
)
with rule_log(snakemake) as log:
    BODY
"""


def run(tmp_path, body: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run a rule script body under rule_log in a fresh process, as Snakemake does."""
    script = SCRIPT.replace("BODY", body)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, cwd=REPO / "src")
    return result, (tmp_path / "rule.log").read_text()


def test_log_names_inputs_outputs_with_sizes_and_the_time_taken(tmp_path):
    result, text = run(tmp_path, 'out.write_bytes(b"0" * 2_500_000)')
    assert result.returncode == 0, result.stderr
    assert "rule demo (shard=000) started with 1 thread(s)" in text
    assert "read manifest: m.tsv" in text and "read caches: 2 files (a.h5, ...)" in text and "impressions/x.py" not in text
    assert "out.txt (2.50 MB)" in text and "wav (1 files)" in text
    assert "rule demo finished in" in text


def test_bad_input_ends_the_job_with_one_line_and_no_traceback(tmp_path):
    result, text = run(tmp_path, 'raise InputError("clip x.mp4 has no audio; re-encode it or drop it from the split")')
    assert result.returncode == 1
    assert "ERROR clip x.mp4 has no audio; re-encode it or drop it from the split" in text and "Traceback" not in text


def test_other_errors_are_logged_and_raised(tmp_path):
    result, text = run(tmp_path, 'raise RuntimeError("boom")')
    assert result.returncode == 1
    assert "rule demo failed; the traceback follows" in text and "RuntimeError: boom" in text
