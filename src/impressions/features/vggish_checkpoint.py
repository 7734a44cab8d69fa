"""The official AudioSet VGGish checkpoint, converted into a SavedModel the pipeline can load.

:func:`convert_checkpoint` reads ``vggish_model.ckpt`` (and optionally ``vggish_pca_params.npz``)
into the network of :func:`impressions.features.vggish.build_vggish` and exports a SavedModel
that maps our log-mel examples ``(N, 96, 64)`` to ``(N, 128)`` embeddings; the ``"checkpoint"``
embedder source loads it.
"""

from __future__ import annotations

import json
import logging
import os

import keras
import numpy as np
import tensorflow as tf

from impressions.features.transforms import VGGISH_FRONT_END
from impressions.features.vggish import EMBEDDING_SIZE, EXAMPLE_SHAPE, build_vggish, pca_label
from impressions.io.atomic import atomic_path

logger = logging.getLogger("impressions.vggish")

_CHECKPOINT_LAYERS = {
    "conv1": ("vggish/conv1", (3, 3, 1, 64)),
    "conv2": ("vggish/conv2", (3, 3, 64, 128)),
    "conv3_1": ("vggish/conv3/conv3_1", (3, 3, 128, 256)),
    "conv3_2": ("vggish/conv3/conv3_2", (3, 3, 256, 256)),
    "conv4_1": ("vggish/conv4/conv4_1", (3, 3, 256, 512)),
    "conv4_2": ("vggish/conv4/conv4_2", (3, 3, 512, 512)),
    "fc1_1": ("vggish/fc1/fc1_1", (12288, 4096)),
    "fc1_2": ("vggish/fc1/fc1_2", (4096, 4096)),
    "fc2": ("vggish/fc2", (4096, EMBEDDING_SIZE)),
}
"""Keras layer -> (variable scope in ``vggish_model.ckpt``, weights shape). Slim conv weights
are HWIO and fully connected weights (in, out), the layouts of Keras kernels: nothing is
transposed."""

QUANTIZE_RANGE = (-2.0, 2.0)
"""``vggish_params.QUANTIZE_MIN_VAL`` and ``QUANTIZE_MAX_VAL``: the PCA range kept in 8 bits."""

CONVERSION_RECORD = "conversion.json"
"""File beside ``saved_model.pb`` that says, for people, what :func:`convert_checkpoint` read."""

_EXAMPLES_SPEC = tf.TensorSpec((None, *EXAMPLE_SHAPE), tf.float32, name="log_mel")


def convert_checkpoint(
    checkpoint: str | os.PathLike,
    export_dir: str | os.PathLike,
    *,
    pca_params: str | os.PathLike | None = None,
) -> None:
    """Convert the official AudioSet ``vggish_model.ckpt`` into a SavedModel for ``"checkpoint"``.

    The checkpoint is a TF1 tf-slim checkpoint with no graph TF2 could run, so its variables are
    copied into :func:`build_vggish`, whose layers mirror ``vggish_slim.define_vggish_slim``. No
    layout change is needed: slim conv weights are HWIO like ``Conv2D`` kernels, fully connected
    weights (in, out) like ``Dense`` kernels, and ``slim.flatten`` flattens the NHWC
    ``(6, 4, 512)`` map in the order Keras ``Flatten`` does. With `pca_params`, the export also
    applies ``vggish_postprocess.Postprocessor`` (PCA with whitening, clipping to
    :data:`QUANTIZE_RANGE`, 8-bit quantization), which gives the format of the released AudioSet
    features; the 0..255 codes are returned as float32 so the embedding cache keeps one dtype.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        ``vggish_model.ckpt`` (V1 or V2, anything ``tf.train.load_checkpoint`` reads); variables
        other than the VGGish weights and biases are ignored.
    export_dir : str or os.PathLike
        SavedModel directory to write. It is written beside its final name and renamed, so an
        interrupted conversion never leaves a model that looks finished.
    pca_params : str or os.PathLike, optional
        ``vggish_pca_params.npz``: ``pca_eigen_vectors`` (128, 128) and ``pca_means`` (128, 1)
        or (128,). Without it the export returns the raw ``fc2`` embeddings.

    Raises
    ------
    ValueError
        If the checkpoint cannot be read or any VGGish variable in it is missing, mis-shaped or
        not floating point (each such variable is named), or if `pca_params` lacks a key or has
        a wrong shape.

    Notes
    -----
    The SavedModel's ``serving_default`` signature takes ``log_mel`` float32 ``(N, 96, 64)``
    (:func:`~impressions.features.transforms.vggish_examples`) and returns ``{"embedding": float32
    (N, 128)}``; the loaded object's ``pca_applied`` variable says which output it is.
    """
    pca = _read_pca_params(pca_params) if pca_params is not None else None  # cheap: check first
    weights = _read_checkpoint(checkpoint)
    model = build_vggish(seed=0)  # the seeded initial weights are all overwritten below
    for name, (kernel, bias) in weights.items():
        model.get_layer(name).set_weights([kernel, bias])
    module = _ConvertedVGGish(model, pca)
    record = {
        "checkpoint": os.path.abspath(checkpoint),
        "pca_params": os.path.abspath(pca_params) if pca_params is not None else None,
        "pca_applied": pca is not None,
        "input": "log_mel: float32 (N, 96, 64), impressions.features.transforms.vggish_examples",
        "output": "embedding: float32 (N, 128), " + ("PCA+quantized codes 0..255 (vggish_postprocess)" if pca is not None else "raw fc2"),
        "vggish_front_end": VGGISH_FRONT_END,
        "tensorflow": tf.__version__,
    }
    with atomic_path(export_dir) as tmp:
        tf.saved_model.save(module, os.fspath(tmp), signatures={"serving_default": module.serve})
        (tmp / CONVERSION_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    logger.info("converted %s to %s (%s)", checkpoint, export_dir, pca_label(pca is not None))


def _read_checkpoint(checkpoint: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Check every VGGish variable of `checkpoint`, then read them: layer -> (kernel, bias).

    All shapes are checked before any tensor is read, so a wrong file fails at once and the error
    lists every problem, not only the first.
    """
    try:
        reader = tf.train.load_checkpoint(os.fspath(checkpoint))
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(
            f"could not read the VGGish checkpoint {os.fspath(checkpoint)!r} "
            f"({type(error).__name__}: {error}); expected the official AudioSet vggish_model.ckpt"
        ) from error
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    expected = {f"{scope}/{kind}": shape if kind == "weights" else shape[-1:] for scope, shape in _CHECKPOINT_LAYERS.values() for kind in ("weights", "biases")}
    problems = []
    for name, shape in expected.items():
        if name not in shapes:
            problems.append(f"{name} is missing")
        elif tuple(shapes[name]) != shape:
            problems.append(f"{name} has shape {tuple(shapes[name])}, expected {shape}")
        elif not dtypes[name].is_floating:
            problems.append(f"{name} has dtype {dtypes[name].name}, expected float32")
    if problems:
        raise ValueError(
            f"{os.fspath(checkpoint)!r} is not a VGGish checkpoint: {'; '.join(problems)} (vggish_slim.define_vggish_slim has {len(expected)} variables)"
        )
    return {
        layer: tuple(reader.get_tensor(f"{scope}/{kind}").astype(np.float32, copy=False) for kind in ("weights", "biases"))
        for layer, (scope, _) in _CHECKPOINT_LAYERS.items()
    }


def _read_pca_params(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``vggish_pca_params.npz`` as float64: eigenvectors (128, 128), means (1, 128)."""
    with np.load(path) as params:
        missing = sorted({"pca_eigen_vectors", "pca_means"} - set(params.files))
        if missing:
            raise ValueError(
                f"{os.fspath(path)!r} lacks {', '.join(missing)}; expected the official "
                f"vggish_pca_params.npz (keys pca_eigen_vectors, pca_means), got {params.files}"
            )
        eigen_vectors = np.asarray(params["pca_eigen_vectors"], dtype=np.float64)
        means = np.asarray(params["pca_means"], dtype=np.float64)
    size = EMBEDDING_SIZE
    if eigen_vectors.shape != (size, size):
        raise ValueError(f"pca_eigen_vectors in {os.fspath(path)!r} has shape {eigen_vectors.shape}, expected ({size}, {size})")
    if means.shape not in {(size,), (size, 1)}:
        raise ValueError(f"pca_means in {os.fspath(path)!r} has shape {means.shape}, expected ({size}, 1)")
    return eigen_vectors, means.reshape(1, size)


class _ConvertedVGGish(tf.Module):
    """What :func:`convert_checkpoint` saves: the Keras VGGish, optionally then postprocessing."""

    def __init__(self, model: keras.Model, pca: tuple[np.ndarray, np.ndarray] | None) -> None:
        super().__init__(name="converted_vggish")
        self.model = model
        self.pca_applied = tf.Variable(pca is not None, trainable=False, name="pca_applied")
        self._with_pca = pca is not None  # decides, when traced, which graph is saved
        if pca is not None:
            self.pca_eigen_vectors = tf.Variable(pca[0], trainable=False, name="pca_eigen_vectors")
            self.pca_means = tf.Variable(pca[1], trainable=False, name="pca_means")

    @tf.function(input_signature=[_EXAMPLES_SPEC])
    def __call__(self, log_mel: tf.Tensor) -> tf.Tensor:
        embedding = self.model(log_mel, training=False)
        if not self._with_pca:
            return embedding
        return _postprocess(embedding, self.pca_eigen_vectors, self.pca_means)

    @tf.function(input_signature=[_EXAMPLES_SPEC])
    def serve(self, log_mel: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"embedding": self(log_mel)}


def _postprocess(embedding: tf.Tensor, eigen_vectors: tf.Tensor, means: tf.Tensor) -> tf.Tensor:
    """``vggish_postprocess.Postprocessor.postprocess``, returning the uint8 codes as float32.

    ``(E @ (x.T - m)).T`` is computed as ``(x - m.T) @ E.T``, in float64 as numpy does with the
    float64 parameters; ``astype(np.uint8)`` truncates, which for values in [0, 255] is floor.
    """
    low, high = QUANTIZE_RANGE
    pca_applied = tf.matmul(tf.cast(embedding, tf.float64) - means, eigen_vectors, transpose_b=True)
    clipped = tf.clip_by_value(pca_applied, low, high)
    return tf.cast(tf.floor((clipped - low) * (255.0 / (high - low))), tf.float32)
