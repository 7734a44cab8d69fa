"""Training and prediction of every model, streamed from the caches through tf.data.

TensorFlow places the work on a GPU when one is visible (with mixed precision there); nothing
here assumes a CPU.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from impressions.io.atomic import atomic_path
from impressions.io.tf_runtime import devices, use_threads
from impressions.models import registry
from impressions.models.entry import ModelSpec
from impressions.models.inputs import MEMORY_MB, ClipSource, read_sources, write_predictions
from impressions.models.saved import load_model
from impressions.models.streams import dataset
from impressions.models.task import FIRST_IMPRESSIONS, Task

log = logging.getLogger(__name__)

TRAINING_KEYS = ("learning_rate", "batch_size", "max_epochs", "patience", "loss", "standardize_targets", "shuffle_buffer")
"""Settings of the fit; every other key of a model's settings goes to its builder."""

FINE_TUNE_KEYS = ("init_from",)
"""Settings that choose initial weights, not architecture (the inputs' own are the registry entry's
``input_settings``)."""

LOSSES = {"mae": keras.losses.MeanAbsoluteError, "mse": keras.losses.MeanSquaredError, "huber": keras.losses.Huber}
"""Regression losses (config ``loss``); classification always learns by cross-entropy on the logits."""

SELECTION_SCORES = {
    "weighted_f1": lambda true, pred: f1_score(true, pred, average="weighted", zero_division=0),
    "macro_f1": lambda true, pred: f1_score(true, pred, average="macro", zero_division=0),
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
}
"""Classification metrics a training run can be selected by (`Task.metric`), on class indices."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TensorFlow for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class TargetScale:
    """Targets as the loss sees them: raw scores, or standardised with the training split's statistics."""

    def __init__(self, y_train: np.ndarray, standardize: bool):
        self.mean = y_train.mean(axis=0) if standardize else np.zeros(y_train.shape[1], np.float32)
        self.std = y_train.std(axis=0) + 1e-6 if standardize else np.ones(y_train.shape[1], np.float32)

    def forward(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.mean) / self.std).astype(np.float32)

    def back(self, y: np.ndarray) -> np.ndarray:
        return (y * self.std + self.mean).astype(np.float32)


def one_minus_mae(scale: TargetScale) -> keras.metrics.Metric:
    """1-MAE on the original score scale, whatever scaling the loss works in."""
    std = tf.constant(scale.std, tf.float32)

    def metric(y_true, y_pred):
        return 1.0 - tf.reduce_mean(tf.abs(tf.cast(y_true, tf.float32) - tf.cast(y_pred, tf.float32)) * std, axis=-1)

    return keras.metrics.MeanMetricWrapper(metric, name="one_minus_mae")


def start_at_train_mean(
    model: keras.Model, y_train: np.ndarray, *, layer: str = "outputs", classification: bool = False, weights: np.ndarray | None = None
) -> None:
    """Make the model start as the train-mean predictor (the baseline).

    The output bias becomes the training mean of each target (its logit under a sigmoid) and
    the output weights start at zero, so training starts from the baseline instead of from
    random scores, and early stopping keeps an improvement on it. With ~100 training clips this
    matters more than depth. For classification the mean of the one-hot targets, weighted by the
    class `weights` the loss uses, is the class prior the loss sees; the bias becomes its log
    (a softmax of it gives the prior back; with balanced weights, every class equally likely).
    """
    output = model.get_layer(layer)
    mean = y_train.mean(axis=0)
    if classification:
        prior = mean * (np.ones_like(mean) if weights is None else weights)
        prior = np.clip(prior / prior.sum(), 1e-6, None)
        mean = np.log(prior) - np.log(prior).mean()
    elif output.activation is keras.activations.sigmoid:
        mean = np.clip(mean, 1e-3, 1 - 1e-3)
        mean = np.log(mean / (1 - mean))
    kernel, _ = output.get_weights()
    output.set_weights([np.zeros_like(kernel), mean.astype(np.float32)])


class _EpochLog(keras.callbacks.Callback):
    """Writes one line per epoch to the rule log, so a long training shows its progress."""

    def on_epoch_end(self, epoch, logs=None):
        figures = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()))
        log.info("epoch %d: %s", epoch + 1, figures)


def _builder_kwargs(spec: ModelSpec, settings: dict, first_instance, seed: int) -> dict:
    """The builder's keyword arguments: architecture settings plus the input shapes of the data."""
    kwargs = {k: v for k, v in settings.items() if k not in TRAINING_KEYS + FINE_TUNE_KEYS + spec.input_settings}
    kwargs.update(spec.input_shapes(first_instance))
    for key, value in kwargs.items():
        kwargs[key] = tuple(value) if isinstance(value, list) else (None if value == "" else value)
    return {**kwargs, "seed": seed}


def copy_conv_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy the ``conv*`` layer weights that `source` and `target` share (fine-tune start).

    Nothing is copied unless every shared conv layer has the same weight shapes in both.

    Returns
    -------
    list of str
        The names of the layers copied, in `target` order.

    Raises
    ------
    ValueError
        If a shared conv layer's weight shapes differ (the message lists them), or if the models
        share no conv layer at all (a fine-tune that would silently start from scratch).
    """
    convs = {layer.name: layer for layer in source.layers if layer.name.startswith("conv")}
    shared = [layer for layer in target.layers if layer.name in convs]
    if not shared:
        raise ValueError(f"{source.name} and {target.name} share no conv* layer; nothing to copy")
    shapes = {layer.name: ([tuple(w.shape) for w in convs[layer.name].weights], [tuple(w.shape) for w in layer.weights]) for layer in shared}
    mismatched = [f"{name}: {src} in {source.name} vs {dst} in {target.name}" for name, (src, dst) in shapes.items() if src != dst]
    if mismatched:
        raise ValueError("conv weight shapes differ: " + "; ".join(mismatched))
    for layer in shared:
        layer.set_weights(convs[layer.name].get_weights())
    return [layer.name for layer in shared]


def adapt_standardization(model: keras.Model, train: tf.data.Dataset) -> list[str]:
    """Adapt the model's input standardisation layers on the training stream (one pass).

    A layer named ``standardize`` takes the model's single input; ``<input>_standardize`` takes
    that named input of a multi-input model. The stream's elements are (x, y) or (x, y, weight).
    """
    adapted = []
    for layer in model.layers:
        if layer.name == "standardize":
            layer.adapt(train.map(lambda x, *_: x))
        elif layer.name.endswith("_standardize"):
            key = layer.name.removesuffix("_standardize")
            layer.adapt(train.map(lambda x, *_, key=key: x[key]))
        else:
            continue
        adapted.append(layer.name)
    return adapted


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from a model's logits (in float32 whatever the compute precision)."""
    z = np.asarray(logits, np.float32)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class ClipValidation(keras.callbacks.Callback):
    """After every epoch, scores the clip-level predictions of the validation split by the task's
    metric and puts it in the epoch's logs as ``val_<metric>``, which early stopping and the best
    checkpoint watch (it runs before them). A clip's class probabilities are the mean of its
    instances' (patches, windows), as in prediction."""

    def __init__(self, source: ClipSource, stream: tf.data.Dataset, metric: str):
        super().__init__()
        owners = [index for index, instances in source.clips() for _ in instances]
        self.clips, self.owner = np.unique(owners, return_inverse=True)
        self.labels = source.targets()[self.clips].argmax(axis=1)
        self.stream, self.metric = stream, metric

    def on_epoch_end(self, epoch, logs=None):
        probabilities = softmax(self.model.predict(self.stream, verbose=0))
        per_clip = np.zeros((len(self.clips), probabilities.shape[1]))
        np.add.at(per_clip, self.owner, probabilities)
        logs[f"val_{self.metric}"] = float(SELECTION_SCORES[self.metric](self.labels, per_clip.argmax(axis=1)))


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    val: tf.data.Dataset,
    *,
    scale: TargetScale,
    loss: str,
    learning_rate: float,
    max_epochs: int,
    patience: int,
    task: Task = FIRST_IMPRESSIONS,
    val_source: ClipSource | None = None,
) -> pd.DataFrame:
    """Train, stop early on the validation metric, and end with the best epoch's weights.

    Regression watches validation 1-MAE; classification learns by cross-entropy on the logits
    and watches the task's metric on the validation clips (`ClipValidation`, needs `val_source`).

    Returns the per-epoch history: loss and the metrics for train and validation.
    """
    if task.classification:
        monitor = f"val_{task.metric}"
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        watch = [ClipValidation(val_source, val, task.metric)]
    else:
        monitor = "val_one_minus_mae"
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=LOSSES[loss](), metrics=[one_minus_mae(scale)])
        watch = []
    with tempfile.TemporaryDirectory(prefix="impressions-train-") as scratch:
        best = Path(scratch) / "best.weights.h5"
        callbacks = [
            *watch,
            keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=patience),
            keras.callbacks.ModelCheckpoint(best, monitor=monitor, mode="max", save_best_only=True, save_weights_only=True),
            _EpochLog(),
        ]
        with warnings.catch_warnings():
            # Keras counts the batches of a generator-fed stream in the first epoch and reports
            # the end of that count as "ran out of data"; nothing is interrupted.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            history = model.fit(train, validation_data=val, epochs=max_epochs, callbacks=callbacks, verbose=0)
        model.load_weights(best)
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    best_epoch = int(frame[monitor].idxmax())
    log.info("best epoch %d of %d: %s %.4f", best_epoch + 1, len(frame), monitor, frame[monitor].max())
    return frame


def train_model(
    name: str,
    *,
    manifest: str | os.PathLike,
    caches: dict[str, list[str]],
    settings: dict,
    seed: int,
    threads: int,
    outputs,
    init_model: str | None = None,
    task: Task = FIRST_IMPRESSIONS,
    memory_mb: float = MEMORY_MB,
    log=print,
) -> None:
    """Train one registered Keras model from its caches and write its outputs.

    Parameters
    ----------
    caches : cache family -> the paths of its shard files
    settings : the model's section of config.yaml (training keys, input keys, builder keys)
    outputs : ``model`` (.keras), ``history`` (csv), ``excluded`` (tsv), ``predictions`` (one
        csv per split, in SPLITS order)
    init_model : a trained model whose conv weights start this one (the CAM fine-tune step)
    task : what the model learns; for classification the output is one logit per class (linear,
        whatever ``output_activation`` says), the loss cross-entropy (``loss`` and
        ``standardize_targets`` are regression settings) and the predictions class probabilities
    memory_mb : the most a split's instances may take to be kept in memory (`ClipSource`)
    """
    use_threads(threads)
    log(
        f"training {name} on {devices()} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}, "
        f"SLURM_JOB_ID={os.environ.get('SLURM_JOB_ID', 'none')})"
    )
    if tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    seed_everything(seed)
    sources = read_sources(name, manifest, caches, settings, task, memory_mb)
    excluded = pd.concat([source.excluded() for source in sources.values()], ignore_index=True)
    if task.classification:
        settings = {**settings, "output_activation": "linear", "standardize_targets": False}
    if settings["standardize_targets"] and settings.get("output_activation") == "sigmoid":
        raise ValueError(f"models.{name}: standardised targets need output_activation 'linear', not 'sigmoid'")
    y_train = sources["train"].targets()
    scale = TargetScale(y_train, settings["standardize_targets"])
    class_weights = task.weights(y_train)
    if task.classification:
        counts = ", ".join(f"{c} {int(n)}" for c, n in zip(task.classes, y_train.sum(axis=0)))
        weights = ", ".join(f"{c} {w:.2f}" for c, w in zip(task.classes, class_weights))
        log(f"classification of {task.target}: training clips per class {counts}; cross-entropy weights ({task.class_weights}) {weights}")

    def stream(split, shuffle, weighted=False):
        return dataset(
            sources[split],
            targets=scale.forward(sources[split].targets()),
            batch_size=settings["batch_size"],
            shuffle=shuffle,
            seed=seed,
            shuffle_buffer=settings["shuffle_buffer"],
            weights=sources[split].targets() @ class_weights if weighted else None,
        )

    train, val = stream("train", True, weighted=task.classification), stream("val", False)
    spec = registry.spec(name)
    model = spec.build(**_builder_kwargs(spec, settings, sources["train"].first_instance(), seed), n_outputs=len(task.outputs))
    log(f"{name}: {model.count_params():,} parameters; {len(sources['train'].rows)} train and {len(sources['val'].rows)} validation clips")
    log(f"standardised on the training split: {', '.join(adapt_standardization(model, train)) or 'nothing'}")
    if init_model:
        log(f"conv weights from {init_model}: {', '.join(copy_conv_weights(load_model(settings['init_from'], init_model), model))}")
    start_at_train_mean(model, scale.forward(y_train), classification=task.classification, weights=class_weights)
    history = fit(
        model,
        train,
        val,
        scale=scale,
        loss=settings["loss"],
        learning_rate=settings["learning_rate"],
        max_epochs=settings["max_epochs"],
        patience=settings["patience"],
        task=task,
        val_source=sources["val"],
    )
    with atomic_path(outputs.model) as tmp:
        model.save(tmp)
    with atomic_path(outputs.history) as tmp:
        history.to_csv(tmp, index=False)

    def predict(batch):
        scores = model.predict(batch, verbose=0)
        return softmax(scores) if task.classification else scores

    write_predictions(outputs, sources, predict, excluded, back=scale.back, log=log)
