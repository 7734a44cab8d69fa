"""Tests for impressions.features.vggish: the VGGish architecture, seeding, and both embedder sources.

The 72M-parameter network is built once per module by fixtures; the tests that are about
seeding build the few more they need. The TF Hub path is tested offline with a small SavedModel
exported here that honours the ``google/vggish/1`` call contract (waveform -> (N, 128)).
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from impressions.features import vggish
from impressions.features.vggish import Embedder, build_vggish, load_embedder

SR = 16000
CHUNK = 15360  # 0.96 s at 16 kHz: the hop of a VGGish example

LAYER_SHAPES = {
    "log_mel": (96, 64),
    "conv1": (96, 64, 64),
    "pool1": (48, 32, 64),
    "conv2": (48, 32, 128),
    "pool2": (24, 16, 128),
    "conv3_1": (24, 16, 256),
    "conv3_2": (24, 16, 256),
    "pool3": (12, 8, 256),
    "conv4_1": (12, 8, 512),
    "conv4_2": (12, 8, 512),
    "pool4": (6, 4, 512),
    "flatten": (12288,),
    "fc1_1": (4096,),
    "fc1_2": (4096,),
    "fc2": (128,),
}


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return build_vggish(seed=0)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder(source="untrained", seed=0)


def _examples(*counts: int, seed: int = 0) -> list[np.ndarray]:
    """Log-mel-like examples: values in the range log(mel + 0.01) takes."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-4.6, 3.0, size=(n, 96, 64)).astype(np.float32) for n in counts]


def _perturb_global_random_state() -> None:
    np.random.default_rng().random(10)
    np.random.random(10)
    tf.random.uniform((10,))
    keras.random.normal((10,))


# -- architecture ------------------------------------------------------------------------------


def test_layer_names_and_output_shapes(model):
    names = [layer.name for layer in model.layers]
    assert names == ["log_mel", "reshape", *list(LAYER_SHAPES)[1:]]
    for name, shape in LAYER_SHAPES.items():
        assert tuple(model.get_layer(name).output.shape) == (None, *shape), name
    assert model.name == "vggish"
    assert model.inputs[0].dtype == "float32"


def test_parameter_count_is_vggish(model):
    assert model.count_params() == 72_141_184


def test_convolutions_are_3x3_same_relu_and_fc2_is_linear(model):
    for name in ("conv1", "conv2", "conv3_1", "conv3_2", "conv4_1", "conv4_2"):
        config = model.get_layer(name).get_config()
        assert tuple(config["kernel_size"]) == (3, 3), name
        assert (config["padding"], config["activation"]) == ("same", "relu"), name
    assert model.get_layer("fc1_2").get_config()["activation"] == "relu"
    assert model.get_layer("fc2").get_config()["activation"] == "linear"


def test_biases_start_at_zero(model):
    for layer in model.layers:
        if layer.weights:
            assert not np.any(layer.bias.numpy()), layer.name


# -- seeding and determinism -------------------------------------------------------------------


def test_same_seed_gives_identical_weights_whatever_the_global_random_state(model):
    _perturb_global_random_state()
    again = build_vggish(seed=0)
    for expected, actual in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(actual, expected)


def test_different_seed_gives_different_weights(model):
    other = build_vggish(seed=1)
    for layer in model.layers:
        if layer.weights:
            other_kernel = other.get_layer(layer.name).kernel.numpy()
            assert not np.array_equal(layer.kernel.numpy(), other_kernel), layer.name


def test_same_seed_gives_identical_embeddings(embedder):
    _perturb_global_random_state()
    again = load_embedder(source="untrained", seed=0)
    clips = _examples(3, 5)
    for a, b in zip(embedder.embed([None] * 2, clips), again.embed([None] * 2, clips), strict=True):
        np.testing.assert_array_equal(a, b)


# -- the untrained embedder --------------------------------------------------------------------


def test_untrained_embedder_describes_itself(embedder):
    assert (embedder.source, embedder.pretrained) == ("untrained", False)
    assert "UNTRAINED" in embedder.description and "seed 0" in embedder.description


def test_untrained_embedder_runs_the_seeded_network(embedder, model):
    (clip,) = _examples(4)
    (embedding,) = embedder.embed([None], [clip])
    np.testing.assert_allclose(embedding, model(clip, training=False).numpy(), rtol=1e-5, atol=1e-5)


def test_batched_across_clips_equals_each_clip_alone(embedder):
    clips = _examples(3, 0, 70, 1, 5)  # 79 examples: one full batch of 64 and a padded one
    batched = embedder.embed([None] * len(clips), clips, batch_size=64)
    assert [e.shape for e in batched] == [(3, 128), (0, 128), (70, 128), (1, 128), (5, 128)]
    for clip, together in zip(clips, batched, strict=True):
        (alone,) = embedder.embed([None], [clip], batch_size=64)
        assert together.dtype == np.float32
        np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)


def test_batch_size_does_not_change_embeddings(embedder):
    clips = _examples(2, 7, seed=1)
    reference = embedder.embed([None] * 2, clips, batch_size=64)
    for a, b in zip(embedder.embed([None] * 2, clips, batch_size=3), reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_no_clips_and_only_empty_clips(embedder):
    assert embedder.embed([], []) == []
    assert [e.shape for e in embedder.embed([None] * 2, _examples(0, 0))] == [(0, 128), (0, 128)]


@pytest.mark.parametrize(
    ("waveforms", "examples", "kwargs", "match"),
    [
        ([None], _examples(1, 1), {}, "1 waveforms but 2"),
        ([None], _examples(1), {"batch_size": 0}, "batch_size"),
        ([None], [np.zeros((2, 64, 96), np.float32)], {}, r"examples\[0\] must have shape"),
        ([None], [np.zeros((2, 96, 64), np.int16)], {}, "floating point"),
    ],
)
def test_embed_rejects_bad_input(embedder, waveforms, examples, kwargs, match):
    with pytest.raises(ValueError, match=match):
        embedder.embed(waveforms, examples, **kwargs)


def test_loading_untrained_warns_loudly(monkeypatch, caplog):
    # The warning is about the source, not the network: a tiny stand-in keeps this test fast.
    tiny = keras.Sequential([keras.Input((96, 64)), keras.layers.Flatten(), keras.layers.Dense(8)])
    monkeypatch.setattr(vggish, "build_vggish", lambda *, seed: tiny)
    with caplog.at_level(logging.WARNING, logger="impressions.vggish"):
        load_embedder(source="untrained", seed=7)
    (record,) = [r for r in caplog.records if r.name == "impressions.vggish"]
    assert record.levelno == logging.WARNING
    assert "UNTRAINED" in record.getMessage() and "seed 7" in record.getMessage()
    assert "NOT AudioSet features" in record.getMessage()


# -- the TF Hub embedder -----------------------------------------------------------------------


class _ChunkStatistics(tf.Module):
    """A stand-in for google/vggish/1: per 0.96 s chunk, 4 statistics through a fixed projection."""

    def __init__(self, projection: np.ndarray) -> None:
        super().__init__()
        self.projection = tf.Variable(projection, trainable=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, waveform: tf.Tensor) -> tf.Tensor:
        n = tf.shape(waveform)[0] // CHUNK
        chunks = tf.reshape(waveform[: n * CHUNK], (n, CHUNK))
        stats = tf.stack(
            [
                tf.reduce_mean(chunks, axis=1),
                tf.math.reduce_std(chunks, axis=1),
                tf.reduce_min(chunks, axis=1),
                tf.reduce_max(chunks, axis=1),
            ],
            axis=1,
        )
        return tf.matmul(stats, self.projection)


def _chunk_statistics(waveform: np.ndarray, projection: np.ndarray) -> np.ndarray:
    n = len(waveform) // CHUNK
    chunks = waveform[: n * CHUNK].reshape(n, CHUNK).astype(np.float64)
    stats = np.stack([chunks.mean(1), chunks.std(1), chunks.min(1), chunks.max(1)], axis=1)
    return stats @ projection


def _save(module: tf.Module, path) -> str:
    tf.saved_model.save(module, str(path))
    return str(path)


@pytest.fixture(scope="module")
def projection() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(4, 128)).astype(np.float32)


@pytest.fixture(scope="module")
def hub_handle(tmp_path_factory, projection) -> str:
    return _save(_ChunkStatistics(projection), tmp_path_factory.mktemp("hub") / "fake_vggish")


def test_hub_embedder_calls_the_saved_model_per_waveform(hub_handle, projection):
    embedder = load_embedder(source="hub", hub_handle=hub_handle)
    assert (embedder.source, embedder.pretrained) == ("hub", True)
    assert embedder.description == f"TF Hub model {hub_handle}"
    rng = np.random.default_rng(4)
    waveforms = [rng.uniform(-1, 1, size=n).astype(np.float32) for n in (5 * SR, 0, int(2.5 * SR))]
    examples = _examples(5, 0, 2)
    embeddings = embedder.embed(waveforms, examples)
    assert [e.shape for e in embeddings] == [(5, 128), (0, 128), (2, 128)]
    for waveform, embedding in zip(waveforms, embeddings, strict=True):
        assert embedding.dtype == np.float32
        expected = _chunk_statistics(waveform, projection)
        np.testing.assert_allclose(embedding, expected, rtol=1e-4, atol=1e-5)


def test_hub_model_with_wrong_width_is_rejected(tmp_path):
    handle = _save(_ChunkStatistics(np.ones((4, 64), np.float32)), tmp_path / "narrow")
    embedder = load_embedder(source="hub", hub_handle=handle)
    with pytest.raises(RuntimeError, match=r"returned shape \(1, 64\).*\(N, 128\)"):
        embedder.embed([np.zeros(SR, np.float32)], _examples(1))


def test_unloadable_hub_handle_says_what_to_do(tmp_path):
    missing = str(tmp_path / "no_such_model")
    with pytest.raises(RuntimeError, match="no_such_model") as error:
        load_embedder(source="hub", hub_handle=missing)
    assert "vggish.hub_handle" in str(error.value)
    assert "'untrained'" in str(error.value)


def test_hub_source_needs_a_handle():
    with pytest.raises(ValueError, match="hub_handle"):
        load_embedder(source="hub", hub_handle=None)


def test_unknown_source_lists_allowed_values():
    with pytest.raises(ValueError, match="'pretrained'.*untrained, hub"):
        load_embedder(source="pretrained")
