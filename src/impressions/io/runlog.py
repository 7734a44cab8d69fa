"""Logging for rule scripts: everything goes to the rule's log file, with counts and timings."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import time
from typing import Iterator

from impressions.io.errors import InputError


@contextlib.contextmanager
def rule_log(snakemake) -> Iterator[logging.Logger]:
    """Send logging and stderr of a rule script to ``snakemake.log[0]`` and time the rule.

    An `InputError` (bad input the user can fix) and a full disk are logged as one clear line and
    end the job without a traceback; any other exception ends it with its traceback in the log.
    The full-disk line also goes to the job's own stderr: the log, on that disk, may not take it.
    """
    stream = open(snakemake.log[0], "a", buffering=1)
    sys.stderr.flush()
    terminal = os.dup(sys.stderr.fileno())
    os.dup2(stream.fileno(), sys.stderr.fileno())  # also catches what TensorFlow's C++ code prints
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S", force=True)
    log = logging.getLogger(f"impressions.rule.{snakemake.rule}")
    wildcards = ", ".join(f"{k}={v}" for k, v in snakemake.wildcards.items())
    log.info("rule %s (%s) started with %d thread(s)", snakemake.rule, wildcards or "no wildcards", snakemake.threads)
    for name, value in snakemake.input.items():
        if name != "code":  # the library modules listed for staleness, not data
            log.info("read %s: %s", name, _files(value))
    started = time.perf_counter()
    try:
        yield log
    except InputError as error:
        log.error("%s", error)
        raise SystemExit(1) from None
    except BaseException as error:
        if disk_full(error):
            folders = ", ".join(sorted({os.path.dirname(os.path.abspath(path)) for path in snakemake.output}))
            line = (
                f"no space left on the disk of {folders} ({error}). Free space there (df -h shows it), "
                "then run the same command again: finished outputs are kept and this job runs again."
            )
            log.error("%s", line)
            os.write(terminal, f"rule {snakemake.rule}: {line}\n".encode())
            raise SystemExit(1) from None
        log.error("rule %s failed; the traceback follows", snakemake.rule)
        raise
    else:
        for path in snakemake.output:
            log.info("wrote %s (%s)", path, _size(path))
        log.info("rule %s finished in %.1f s", snakemake.rule, time.perf_counter() - started)
    finally:
        logging.shutdown()
        os.close(terminal)


_DISK_FULL = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded"}


def disk_full(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says the disk (or the user's quota) is full.

    h5py and TensorFlow report it in their own exception types: their message holds the C library's text.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "errno", None) in _DISK_FULL or says_disk_full(str(error)):
            return True
        error = error.__cause__ or error.__context__
    return False


def says_disk_full(text: str) -> bool:
    """Whether a message (a library's, or a tool's stderr) holds the C library's text for a full disk or quota."""
    return any(message in text for message in _DISK_FULL.values())


def _files(value) -> str:
    """An input named in the log: its path, or how many files and the first one."""
    files = [value] if isinstance(value, str) else list(value)
    if len(files) == 1:
        return str(files[0])
    return f"{len(files)} files ({files[0]}, ...)" if files else "none"


def _size(path: str) -> str:
    """A written output's size, or a folder's file count, for the log."""
    if os.path.isdir(path):
        return f"{sum(len(files) for _, _, files in os.walk(path))} files"
    return f"{os.path.getsize(path) / 1e6:.2f} MB" if os.path.exists(path) else "missing"
