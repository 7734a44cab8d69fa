"""Training and prediction: the inputs of each model from the caches, a fit loop, predictions.

TensorFlow places the work on a GPU when one is visible; nothing here assumes a CPU.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from impressions import SPLITS, TRAITS
from impressions.atomic import atomic_path, write_tsv
from impressions.dataset import read_manifest
from impressions.loaders import SplitData, embedding_inputs
from impressions.metrics import prediction_table
from impressions.models import build
from impressions.tf_runtime import devices, use_threads

log = logging.getLogger(__name__)


def start_at_train_mean(model: keras.Model, y_train: np.ndarray, *, layer: str = "traits", shrink: float = 0.1) -> None:
    """Make a sigmoid-output model start close to the train-mean predictor (the baseline).

    The output bias becomes the logit of each target's training mean and the output weights are
    shrunk, so training starts from the baseline instead of from random scores, and early
    stopping keeps an improvement on it. With ~100 training clips this matters more than depth.
    """
    mean = np.clip(y_train.mean(axis=0), 1e-3, 1 - 1e-3)
    output = model.get_layer(layer)
    kernel, _ = output.get_weights()
    output.set_weights([kernel * shrink, np.log(mean / (1 - mean)).astype(np.float32)])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TensorFlow for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class _EpochLog(keras.callbacks.Callback):
    """Writes one line per epoch to the rule log, so a long training shows its progress."""

    def on_epoch_end(self, epoch, logs=None):
        figures = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()))
        log.info("epoch %d: %s", epoch + 1, figures)


def fit(
    model: keras.Model,
    train: SplitData,
    val: SplitData,
    *,
    learning_rate: float,
    batch_size: int,
    max_epochs: int,
    patience: int,
    seed: int,
) -> pd.DataFrame:
    """Train with MAE loss and Adam, stop early on validation loss and keep the best weights.

    Returns the per-epoch history (loss and 1-MAE for train and validation).
    """
    if len(train.y) == 0 or len(val.y) == 0:
        raise ValueError(f"cannot train: {len(train.y)} train and {len(val.y)} validation clips")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mae", metrics=["mae"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        train.x,
        train.y,
        validation_data=(val.x, val.y),
        batch_size=batch_size,
        epochs=max_epochs,
        shuffle=True,
        callbacks=[stop, _EpochLog()],
        verbose=0,
    )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    frame["one_minus_mae"] = 1.0 - frame["mae"]
    frame["val_one_minus_mae"] = 1.0 - frame["val_mae"]
    log.info("best epoch %d of %d (val loss %.4f)", int(frame["val_loss"].idxmin()) + 1, len(frame), frame["val_loss"].min())
    return frame


def predict(model: keras.Model, data: SplitData, *, batch_size: int = 256) -> np.ndarray:
    """Predictions (clips, traits) for one split."""
    if len(data.x) == 0:
        return np.zeros((0, len(TRAITS)), np.float32)
    return model.predict(data.x, batch_size=batch_size, verbose=0)


def train_model(
    name: str,
    *,
    manifest: str | os.PathLike,
    caches: list[str],
    settings: dict,
    seed: int,
    threads: int,
    outputs,
    log=print,
) -> None:
    """Train one registered model from its caches and write its outputs.

    `outputs` has ``model`` (.keras), ``history`` (csv), ``excluded`` (tsv) and ``predictions``
    (one csv per split, in SPLITS order).
    """
    if name != "vggish_head":
        raise ValueError(f"no training inputs are defined for model {name!r}")
    use_threads(threads)
    log(f"training {name} on {devices()}")
    seed_everything(seed)

    rows = read_manifest(manifest)
    shards = {Path(path).stem: path for path in caches}
    data, excluded = embedding_inputs(rows, shards, seconds=settings["seconds"])
    for split in SPLITS:
        log(f"{split}: {len(data[split].y)} clips, input {data[split].x.shape[1:]}")
    for row in excluded.itertuples():
        log(f"excluded {row.clip_id} ({row.split}): {row.reason}")

    model = build(name, input_dim=data["train"].x.shape[1], hidden_units=settings["hidden_units"], dropout=settings["dropout"], seed=seed)
    model.get_layer("standardize").adapt(data["train"].x)
    start_at_train_mean(model, data["train"].y)
    history = fit(
        model,
        data["train"],
        data["val"],
        learning_rate=settings["learning_rate"],
        batch_size=settings["batch_size"],
        max_epochs=settings["max_epochs"],
        patience=settings["patience"],
        seed=seed,
    )
    with atomic_path(outputs.model) as tmp:
        model.save(tmp)
    write_tsv(outputs.excluded, excluded)
    with atomic_path(outputs.history) as tmp:
        history.to_csv(tmp, index=False)
    for split, path in zip(SPLITS, outputs.predictions):
        table = prediction_table(data[split].clip_ids, data[split].y, predict(model, data[split]))
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6f")
