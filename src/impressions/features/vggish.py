"""VGGish: the AudioSet audio embedding network, and the embedders the pipeline chooses between.

Three sources, chosen by ``config["vggish"]["source"]``:

- ``"untrained"``: the exact VGGish architecture (``vggish_slim.py`` of tensorflow/models,
  research/audioset) with seeded random weights. It needs no download, so the pipeline runs
  anywhere, but its embeddings are random projections of the log-mel input, not AudioSet
  features; it says so loudly in the log and in its description.
- ``"hub"``: a pretrained model loaded with ``tensorflow_hub`` (``google/vggish/1`` or a local
  SavedModel directory with the same call contract: 1-D float32 waveform -> ``(N, 128)``).
- ``"checkpoint"``: the official AudioSet ``vggish_model.ckpt`` (optionally with
  ``vggish_pca_params.npz``), converted once by :func:`~impressions.features.vggish_checkpoint.convert_checkpoint` into a SavedModel
  that reads our own log-mel examples: ``(N, 96, 64)`` -> ``(N, 128)``.

All are wrapped in one :class:`Embedder`, so the embedding rule does not care which it got.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

from impressions.features.transforms import VGGISH_FRONT_END

logger = logging.getLogger("impressions.vggish")

SOURCES = ("untrained", "hub", "checkpoint")
"""Allowed values of ``config["vggish"]["source"]``."""

EMBEDDING_SIZE = 128
"""Width of a VGGish embedding (the ``fc2`` layer), per 0.96 s example."""

EXAMPLE_SHAPE = (VGGISH_FRONT_END["example_frames"], VGGISH_FRONT_END["n_mels"])  # (96, 64)

EmbedFn = Callable[[list[np.ndarray], list[np.ndarray], int], list[np.ndarray]]


def build_vggish(*, seed: int) -> keras.Model:
    """Build the VGGish network with seeded random weights.

    The architecture and layer names follow ``vggish_slim.define_vggish_slim`` (3x3 'same'
    convolutions with ReLU, 2x2 max-pools with stride 2, two 4096-unit ReLU layers and a linear
    128-unit embedding), so that the official checkpoint variables, such as
    ``vggish/conv3/conv3_1/weights``, map one to one onto these layers. Each weighted layer gets
    its own initialiser seeded from (`seed`, layer index), so the weights depend on `seed` only,
    never on the global random state or on what was built before. He-normal initialisation
    (instead of the reference's N(0, 0.01), meant for training) keeps activations at a useful
    scale through the eight layers of an untrained network.

    Parameters
    ----------
    seed : int
        Seed of all weights; the same seed always gives the same weights.

    Returns
    -------
    model : keras.Model
        Named ``"vggish"``; input ``"log_mel"`` of shape ``(batch, 96, 64)`` float32 (from
        :func:`impressions.features.transforms.vggish_examples`), output ``(batch, 128)`` float32.
        72,141,184 parameters.
    """
    weighted = _WeightedLayers(seed)
    inputs = keras.Input(shape=EXAMPLE_SHAPE, dtype="float32", name="log_mel")
    x = keras.layers.Reshape((*EXAMPLE_SHAPE, 1), name="reshape")(inputs)
    x = weighted.conv(64, "conv1")(x)
    x = _pool("pool1")(x)
    x = weighted.conv(128, "conv2")(x)
    x = _pool("pool2")(x)
    x = weighted.conv(256, "conv3_1")(x)
    x = weighted.conv(256, "conv3_2")(x)
    x = _pool("pool3")(x)
    x = weighted.conv(512, "conv4_1")(x)
    x = weighted.conv(512, "conv4_2")(x)
    x = _pool("pool4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = weighted.dense(4096, "fc1_1", activation="relu")(x)
    x = weighted.dense(4096, "fc1_2", activation="relu")(x)
    outputs = weighted.dense(EMBEDDING_SIZE, "fc2", activation=None)(x)
    return keras.Model(inputs, outputs, name="vggish")


class _WeightedLayers:
    """Makes conv and dense layers whose kernels each have their own seed derived from one."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._count = 0

    def conv(self, filters: int, name: str) -> keras.layers.Conv2D:
        return keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=name, **self._initialisers())

    def dense(self, units: int, name: str, *, activation: str | None) -> keras.layers.Dense:
        return keras.layers.Dense(units, activation=activation, name=name, **self._initialisers())

    def _initialisers(self) -> dict[str, keras.initializers.Initializer]:
        # SeedSequence mixes (seed, index) so that no two layers of any two seeds share a stream.
        layer_seed = int(np.random.SeedSequence([self._seed, self._count]).generate_state(1)[0])
        self._count += 1
        return {
            "kernel_initializer": keras.initializers.HeNormal(seed=layer_seed),
            "bias_initializer": keras.initializers.Zeros(),
        }


def _pool(name: str) -> keras.layers.MaxPooling2D:
    return keras.layers.MaxPooling2D(pool_size=2, strides=2, padding="same", name=name)


@dataclass(frozen=True)
class Embedder:
    """A VGGish embedder, whichever source it came from.

    Attributes
    ----------
    source : str
        One of :data:`SOURCES`.
    pretrained : bool
        False for the untrained network: its embeddings are random projections.
    description : str
        Human-readable origin, written into the embedding cache and the report.
    embed_fn : callable
        ``embed_fn(waveforms, examples, batch_size) -> list of (N_i, 128)``; use :meth:`embed`.
    """

    source: str
    pretrained: bool
    description: str
    embed_fn: EmbedFn = field(repr=False, compare=False)

    def embed(self, waveforms: list[np.ndarray], examples: list[np.ndarray], *, batch_size: int = 64) -> list[np.ndarray]:
        """Embed a list of clips, one array per clip.

        Both representations of every clip are passed so that the caller need not know the
        source: the untrained and the converted-checkpoint networks read the log-mel `examples`,
        a TF Hub model reads the `waveforms` and computes its own front end.

        Parameters
        ----------
        waveforms : list of np.ndarray [shape=(samples,)]
            16 kHz mono float audio in [-1, 1], one per clip.
        examples : list of np.ndarray [shape=(N_i, 96, 64)]
            VGGish log-mel examples of the same clips
            (:func:`~impressions.features.transforms.vggish_examples`).
        batch_size : int
            Examples per forward pass of the untrained or converted network, across clip
            boundaries. A TF Hub model is called once per clip, as its signature takes one
            waveform.

        Returns
        -------
        embeddings : list of np.ndarray [shape=(N_i, 128), dtype=float32]
            For the untrained and converted networks ``N_i == len(examples[i])``, and 0 for a
            clip without examples; a TF Hub model decides its own ``N_i`` from the waveform.

        Raises
        ------
        ValueError
            If the two lists differ in length, `batch_size` is not positive, or an input has the
            wrong shape or dtype.
        RuntimeError
            If a TF Hub model answers with something other than ``(N, 128)``.
        """
        if len(waveforms) != len(examples):
            raise ValueError(f"got {len(waveforms)} waveforms but {len(examples)} example arrays; pass both for the same clips, in the same order")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return self.embed_fn(list(waveforms), list(examples), int(batch_size))


def load_embedder(
    *,
    source: str,
    hub_handle: str | None = None,
    seed: int = 0,
    savedmodel: str | os.PathLike | None = None,
) -> Embedder:
    """Make the embedder that ``config["vggish"]`` asks for.

    Parameters
    ----------
    source : {"untrained", "hub", "checkpoint"}
        ``"untrained"``: :func:`build_vggish` with `seed` (logs a warning, as its embeddings are
        not AudioSet features). ``"hub"``: ``tensorflow_hub.load(hub_handle)``.
        ``"checkpoint"``: the SavedModel that :func:`~impressions.features.vggish_checkpoint.convert_checkpoint` wrote to `savedmodel`.
    hub_handle : str, optional
        TF Hub handle (URL, cached under ``TFHUB_CACHE_DIR``) or local SavedModel directory;
        required when `source` is ``"hub"``.
    seed : int
        Seed of the untrained network's weights.
    savedmodel : str or os.PathLike, optional
        Export directory of :func:`~impressions.features.vggish_checkpoint.convert_checkpoint`; required when `source` is
        ``"checkpoint"``.

    Returns
    -------
    embedder : Embedder

    Raises
    ------
    ValueError
        If `source` is unknown, `hub_handle` is missing for ``"hub"``, `savedmodel` is missing
        for ``"checkpoint"``, or `savedmodel` is a SavedModel that :func:`~impressions.features.vggish_checkpoint.convert_checkpoint` did
        not write.
    FileNotFoundError
        If `savedmodel` is not a SavedModel directory (for example not converted yet).
    RuntimeError
        If the TF Hub model cannot be loaded (for example offline); the message says how to go on.
    """
    if source == "untrained":
        return _untrained_embedder(seed)
    if source == "hub":
        return _hub_embedder(hub_handle)
    if source == "checkpoint":
        return _checkpoint_embedder(savedmodel)
    raise ValueError(f"unknown vggish source {source!r}; allowed values: {', '.join(SOURCES)}")


def _untrained_embedder(seed: int) -> Embedder:
    description = f"UNTRAINED VGGish (seed {seed}): random weights, no pretrained model"
    logger.warning(
        "%s. Its embeddings are random projections of the log-mel input, NOT AudioSet features; set vggish.source to 'hub' for pretrained embeddings.",
        description,
    )
    model = build_vggish(seed=seed)
    forward = tf.function(
        lambda batch: model(batch, training=False),
        input_signature=[tf.TensorSpec((None, *EXAMPLE_SHAPE), tf.float32)],
    )

    def embed_fn(_waveforms: list[np.ndarray], examples: list[np.ndarray], batch_size: int):
        return _embed_examples(forward, examples, batch_size)

    return Embedder(source="untrained", pretrained=False, description=description, embed_fn=embed_fn)


def _embed_examples(forward: Callable[[tf.Tensor], tf.Tensor], examples: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Run `forward` over the examples of all clips in fixed batches, then split per clip.

    Batching across clip boundaries keeps every forward pass full however short the clips are.
    """
    clips = [_valid_examples(e, i) for i, e in enumerate(examples)]
    if not clips:
        return []
    stacked = np.concatenate(clips)
    batches = [_forward_full_batch(forward, stacked[start : start + batch_size], batch_size) for start in range(0, len(stacked), batch_size)]
    flat = np.concatenate(batches) if batches else np.zeros((0, EMBEDDING_SIZE), np.float32)
    return np.split(flat, np.cumsum([len(c) for c in clips])[:-1])


def _forward_full_batch(forward: Callable[[tf.Tensor], tf.Tensor], batch: np.ndarray, batch_size: int) -> np.ndarray:
    """Run `forward` on `batch` zero-padded to `batch_size` rows; return the real rows.

    Every pass then has the same shape, and so the same CPU kernels: an example's embedding is
    bit for bit the same whichever clips share its batch (oneDNN rounds differently for other
    shapes, e.g. a batch of one), so adding clips to a shard does not change the others.
    """
    n = len(batch)
    padded = np.zeros((batch_size, *batch.shape[1:]), dtype=np.float32)
    padded[:n] = batch
    return forward(tf.constant(padded)).numpy()[:n]


def _valid_examples(examples: np.ndarray, index: int) -> np.ndarray:
    array = np.asarray(examples)
    if array.ndim != 3 or array.shape[1:] != EXAMPLE_SHAPE:
        raise ValueError(f"examples[{index}] must have shape (N, {EXAMPLE_SHAPE[0]}, {EXAMPLE_SHAPE[1]}), got {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"examples[{index}] must be floating point log-mel, got dtype {array.dtype}")
    return array.astype(np.float32, copy=False)


def _hub_embedder(hub_handle: str | None) -> Embedder:
    if not hub_handle:
        raise ValueError(
            "vggish.source is 'hub' but vggish.hub_handle is empty; set it to a TF Hub handle "
            "(https://tfhub.dev/google/vggish/1) or a local SavedModel directory"
        )
    try:
        model = hub.load(hub_handle)
    except Exception as error:  # network, file system and SavedModel errors all end up here
        raise RuntimeError(
            f"could not load the VGGish model {hub_handle!r} ({type(error).__name__}: {error}). "
            "If this machine is offline, point vggish.hub_handle at a local SavedModel directory "
            "(downloaded elsewhere, or cached via TFHUB_CACHE_DIR), or set vggish.source to "
            "'untrained' to run with a randomly initialised network."
        ) from error

    def embed_fn(waveforms: list[np.ndarray], _examples: list[np.ndarray], _batch_size: int):
        return [_embed_waveform(model, w, i, hub_handle) for i, w in enumerate(waveforms)]

    return Embedder(source="hub", pretrained=True, description=f"TF Hub model {hub_handle}", embed_fn=embed_fn)


def _embed_waveform(model: Callable, waveform: np.ndarray, index: int, handle: str) -> np.ndarray:
    """Call a TF Hub VGGish on one clip and check that it answered ``(N, 128)``."""
    y = np.asarray(waveform)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"waveforms[{index}] must be 1-D floating point audio, got shape {y.shape} and dtype {y.dtype}")
    embedding = np.asarray(model(tf.constant(y.astype(np.float32, copy=False))), dtype=np.float32)
    if embedding.ndim != 2 or embedding.shape[1] != EMBEDDING_SIZE:
        raise RuntimeError(f"the model {handle!r} returned shape {embedding.shape} for waveforms[{index}]; a VGGish model must return (N, {EMBEDDING_SIZE})")
    return embedding


def _checkpoint_embedder(savedmodel: str | os.PathLike | None) -> Embedder:
    if not savedmodel:
        raise ValueError(
            "vggish.source is 'checkpoint' but vggish.savedmodel is empty; convert the official "
            "vggish_model.ckpt with impressions.features.vggish_checkpoint.convert_checkpoint and set it to the "
            "export directory"
        )
    path = os.fspath(savedmodel)
    if not tf.saved_model.contains_saved_model(path):
        raise FileNotFoundError(
            f"no converted VGGish SavedModel at {path!r} "
            f"({'no saved_model.pb in it' if Path(path).is_dir() else 'no such directory'}); "
            "make it with impressions.features.vggish_checkpoint.convert_checkpoint(vggish_model.ckpt, "
            f"{path!r}, pca_params=...), or set vggish.source to 'hub' or 'untrained'"
        )
    loaded = tf.saved_model.load(path)
    if not isinstance(getattr(loaded, "pca_applied", None), tf.Variable) or ("serving_default" not in loaded.signatures):
        raise ValueError(
            f"{path!r} is a SavedModel but not one written by impressions.features.vggish_checkpoint."
            "convert_checkpoint (no pca_applied variable or serving_default signature); for a "
            "TF Hub model that takes waveforms, use vggish.source 'hub'"
        )
    description = f"AudioSet VGGish checkpoint converted to {path} ({pca_label(bool(loaded.pca_applied.numpy()))})"
    logger.info("VGGish: %s", description)

    def forward(batch: tf.Tensor) -> tf.Tensor:
        # Reached through `loaded`, which owns the variables the signature reads.
        return loaded.signatures["serving_default"](log_mel=batch)["embedding"]

    def embed_fn(_waveforms: list[np.ndarray], examples: list[np.ndarray], batch_size: int):
        return _embed_examples(forward, examples, batch_size)

    return Embedder(source="checkpoint", pretrained=True, description=description, embed_fn=embed_fn)


def pca_label(pca_applied: bool) -> str:
    """How a converted checkpoint's embeddings are post-processed, in words for the logs."""
    return "PCA+quantized" if pca_applied else "no PCA"
