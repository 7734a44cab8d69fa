"""Rule logs: what a rule read and wrote, its timing, and a clear line for bad input."""

import subprocess
import sys

import pytest

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


def test_a_full_disk_ends_the_job_with_one_line_that_says_what_to_do(tmp_path):
    result, text = run(tmp_path, 'open("/dev/full", "wb", buffering=0).write(b"x")')  # the kernel's always-full device
    assert result.returncode == 1 and "Traceback" not in text
    [line] = [line for line in text.splitlines() if " ERROR " in line]
    assert f"no space left on the disk of {tmp_path}, {tmp_path}" not in line  # each folder once
    assert f"no space left on the disk of {tmp_path} (" in line and "No space left on device" in line
    assert "then run the same command again" in line
    assert f"rule demo: no space left on the disk of {tmp_path} (" in result.stderr  # the log may be on the full disk


LIBRARY_ERRORS = {
    # h5py: its own exception, raised from the OSError of the failed write
    "chained": "try:\n        raise OSError(28, 'No space left on device')\n    except OSError as cause:\n"
    "        raise RuntimeError('Unable to synchronously write data (file write failed)') from cause",
    # only the C library's text in the message, no errno attribute
    "wording": "raise RuntimeError(\"Can't write data (file write failed: error message = 'Disk quota exceeded')\")",
}


@pytest.mark.parametrize("kind", sorted(LIBRARY_ERRORS))
def test_a_full_disk_is_recognised_through_a_library_s_own_exception(tmp_path, kind):
    result, text = run(tmp_path, LIBRARY_ERRORS[kind])
    assert result.returncode == 1 and "Traceback" not in text and "no space left on the disk of" in text


def test_other_errors_mentioning_no_disk_trouble_keep_their_traceback(tmp_path):
    result, text = run(tmp_path, "raise OSError(13, 'Permission denied')")
    assert result.returncode == 1 and "no space left" not in text and "PermissionError" in text
