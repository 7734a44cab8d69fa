"""TensorFlow process settings shared by the embedding and training stages."""

from __future__ import annotations

import logging

import tensorflow as tf

log = logging.getLogger(__name__)


def use_threads(threads: int) -> None:
    """Let TensorFlow use `threads` threads (the job's share of the machine), within an op and
    across ops, so that jobs side by side do not oversubscribe the cores.

    TensorFlow fixes this when it first runs an op; a later call (a notebook that already ran
    TensorFlow) keeps the setting in force and says so.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        log.info("TensorFlow is already running; keeping its thread settings")


def devices() -> str:
    """The GPUs TensorFlow sees, or a note that it runs on the CPU."""
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return ", ".join(gpus) if gpus else "the CPU (no GPU visible)"
