"""Tests for impressions.features.vggish_checkpoint.convert_checkpoint and the ``"checkpoint"`` embedder source.

The official ``vggish_model.ckpt`` cannot be downloaded here, so the module writes a stand-in
once: the official variable names and shapes with random weights, in the V1 format the official
file uses. It is converted with and without PCA, and the exports are checked against VGGish
written out with ``tf.nn`` ops on the raw arrays (no Keras) and against the numpy postprocessing
of ``vggish_postprocess.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from impressions.features import vggish, vggish_checkpoint
from impressions.features.vggish import load_embedder
from impressions.features.vggish_checkpoint import convert_checkpoint

OFFICIAL_SHAPES = {
    "vggish/conv1/weights": (3, 3, 1, 64),
    "vggish/conv1/biases": (64,),
    "vggish/conv2/weights": (3, 3, 64, 128),
    "vggish/conv2/biases": (128,),
    "vggish/conv3/conv3_1/weights": (3, 3, 128, 256),
    "vggish/conv3/conv3_1/biases": (256,),
    "vggish/conv3/conv3_2/weights": (3, 3, 256, 256),
    "vggish/conv3/conv3_2/biases": (256,),
    "vggish/conv4/conv4_1/weights": (3, 3, 256, 512),
    "vggish/conv4/conv4_1/biases": (512,),
    "vggish/conv4/conv4_2/weights": (3, 3, 512, 512),
    "vggish/conv4/conv4_2/biases": (512,),
    "vggish/fc1/fc1_1/weights": (12288, 4096),
    "vggish/fc1/fc1_1/biases": (4096,),
    "vggish/fc1/fc1_2/weights": (4096, 4096),
    "vggish/fc1/fc1_2/biases": (4096,),
    "vggish/fc2/weights": (4096, 128),
    "vggish/fc2/biases": (128,),
}
"""The variables of ``vggish_slim.define_vggish_slim``, as the official checkpoint names them."""

TOLERANCE = 1e-4
"""rtol, and atol relative to the largest |embedding|: float32 sums in another order."""


def _random_weights(seed: int) -> dict[str, np.ndarray]:
    """He-scaled weights and small nonzero biases, so that every layer (biases too) matters."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in OFFICIAL_SHAPES.items():
        if name.endswith("weights"):
            fan_in = int(np.prod(shape[:-1]))
            scale = np.float32(np.sqrt(2.0 / fan_in))
            arrays[name] = rng.standard_normal(shape, dtype=np.float32) * scale
        else:
            arrays[name] = rng.normal(0.0, 0.05, size=shape).astype(np.float32)
    return arrays


def _write_v1(path, arrays: dict[str, np.ndarray]) -> str:
    tf.raw_ops.Save(filename=str(path), tensor_names=list(arrays), data=list(arrays.values()))
    return str(path)


def _write_v2(prefix, arrays: dict[str, np.ndarray]) -> str:
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=list(arrays),
        shape_and_slices=[""] * len(arrays),
        tensors=list(arrays.values()),
    )
    return str(prefix)


def _direct_vggish(arrays: dict[str, np.ndarray], log_mel: np.ndarray) -> np.ndarray:
    """VGGish as ``vggish_slim.py`` defines it, in tf.nn ops on the raw arrays, float32."""

    def conv(x, scope):
        y = tf.nn.conv2d(x, arrays[f"vggish/{scope}/weights"], strides=1, padding="SAME")
        return tf.nn.relu(y + arrays[f"vggish/{scope}/biases"])

    def pool(x):
        return tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME")

    def dense(x, scope):
        return tf.matmul(x, arrays[f"vggish/{scope}/weights"]) + arrays[f"vggish/{scope}/biases"]

    x = tf.reshape(tf.constant(log_mel, tf.float32), (-1, 96, 64, 1))
    x = pool(conv(x, "conv1"))
    x = pool(conv(x, "conv2"))
    x = pool(conv(conv(x, "conv3/conv3_1"), "conv3/conv3_2"))
    x = pool(conv(conv(x, "conv4/conv4_1"), "conv4/conv4_2"))
    x = tf.reshape(x, (-1, 6 * 4 * 512))  # slim.flatten of NHWC
    x = tf.nn.relu(dense(x, "fc1/fc1_1"))
    x = tf.nn.relu(dense(x, "fc1/fc1_2"))
    return dense(x, "fc2").numpy()


def _official_postprocess(embeddings, eigen_vectors, means, *, quantize: bool = True):
    """``vggish_postprocess.Postprocessor.postprocess``, line by line, in numpy."""
    pca_applied = np.dot(eigen_vectors, (embeddings.T - means.reshape(-1, 1))).T
    clipped = np.clip(pca_applied, -2.0, 2.0)
    scaled = (clipped - (-2.0)) * (255.0 / (2.0 - (-2.0)))
    return scaled.astype(np.uint8) if quantize else scaled


def _examples(*counts: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-4.6, 3.0, size=(n, 96, 64)).astype(np.float32) for n in counts]


def _serve(export: str, log_mel: np.ndarray) -> np.ndarray:
    loaded = tf.saved_model.load(export)
    return loaded.signatures["serving_default"](log_mel=tf.constant(log_mel))["embedding"].numpy()


# -- fixtures: one checkpoint, two conversions -------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("vggish_checkpoint")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # ~1 GB of checkpoint and exports


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return _random_weights(seed=0)


@pytest.fixture(scope="module")
def checkpoint(workdir, weights) -> str:
    return _write_v1(workdir / "vggish_model.ckpt", weights)


@pytest.fixture(scope="module")
def log_mel() -> np.ndarray:
    (examples,) = _examples(6, seed=1)
    return examples


@pytest.fixture(scope="module")
def direct(weights, log_mel) -> np.ndarray:
    return _direct_vggish(weights, log_mel)


@pytest.fixture(scope="module")
def pca(workdir, direct) -> dict[str, np.ndarray]:
    """A whitening PCA fitted so that most outputs fall inside [-2, 2] and some are clipped."""
    rng = np.random.default_rng(2)
    rotation, _ = np.linalg.qr(rng.standard_normal((128, 128)))
    means = direct.mean(axis=0).astype(np.float64)
    params = {
        "pca_eigen_vectors": rotation * (1.3 / (direct - means).std()),
        "pca_means": means.reshape(128, 1),
    }
    np.savez(workdir / "vggish_pca_params.npz", **params)
    return params


@pytest.fixture(scope="module")
def export_raw(workdir, checkpoint) -> str:
    convert_checkpoint(checkpoint, workdir / "exports" / "vggish_raw")
    return str(workdir / "exports" / "vggish_raw")


@pytest.fixture(scope="module")
def export_pca(workdir, checkpoint, pca) -> str:
    export = workdir / "exports" / "vggish_pca"
    convert_checkpoint(checkpoint, export, pca_params=workdir / "vggish_pca_params.npz")
    return str(export)


# -- conversion --------------------------------------------------------------------------------


def test_export_serves_log_mel_to_128_float32_and_records_no_pca(export_raw):
    loaded = tf.saved_model.load(export_raw)
    signature = loaded.signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert (tuple(spec.shape), spec.dtype) == ((None, 96, 64), tf.float32)
    output = signature.structured_outputs["embedding"]
    assert (tuple(output.shape), output.dtype) == ((None, 128), tf.float32)
    assert not bool(loaded.pca_applied.numpy())
    record = json.loads((Path(export_raw) / vggish_checkpoint.CONVERSION_RECORD).read_text())
    assert record["pca_applied"] is False and record["pca_params"] is None
    assert record["checkpoint"].endswith("vggish_model.ckpt")


def test_conversion_leaves_no_temporary_files_beside_the_export(workdir, export_raw, export_pca):
    assert sorted(p.name for p in (workdir / "exports").iterdir()) == ["vggish_pca", "vggish_raw"]


def test_converted_network_equals_direct_computation(export_raw, log_mel, direct):
    converted = _serve(export_raw, log_mel)
    scale = np.abs(direct).max()
    assert converted.shape == (6, 128) and converted.dtype == np.float32
    assert scale > 0.1 and (direct < 0).any()  # alive through 8 layers, and fc2 is linear
    np.testing.assert_allclose(converted, direct, rtol=TOLERANCE, atol=TOLERANCE * scale)


def test_pca_export_equals_official_postprocessing(export_pca, export_raw, log_mel, direct, pca):
    loaded = tf.saved_model.load(export_pca)
    assert bool(loaded.pca_applied.numpy())
    codes = _serve(export_pca, log_mel)
    assert codes.dtype == np.float32 and codes.shape == (6, 128)
    np.testing.assert_array_equal(codes, np.round(codes))
    expected = _official_postprocess(direct, pca["pca_eigen_vectors"], pca["pca_means"])
    assert expected.min() == 0 and expected.max() == 255  # both clips are exercised
    assert 0.5 < np.mean((expected > 0) & (expected < 255))  # and mostly the linear part

    # A code may differ by one only where the unquantised value is a network error away from
    # an integer; that error is bounded by the raw export's deviation from `direct`.
    difference = codes - expected.astype(np.float32)
    assert np.abs(difference).max() <= 1
    raw = _serve(export_raw, log_mel)
    eigen, means = pca["pca_eigen_vectors"], pca["pca_means"]
    unquantised = _official_postprocess(direct, eigen, means, quantize=False)
    drift = np.abs(_official_postprocess(raw, eigen, means, quantize=False) - unquantised).max()
    off = difference != 0
    distance_to_boundary = np.abs(unquantised - np.round(unquantised))
    assert (distance_to_boundary[off] <= 2 * drift).all()
    assert off.mean() < 0.01


# -- bad input ---------------------------------------------------------------------------------


def _broken(weights, kind: str) -> tuple[dict[str, np.ndarray], str]:
    arrays = dict(weights)
    if kind == "missing":
        del arrays["vggish/fc2/biases"]
        return arrays, r"vggish/fc2/biases is missing"
    if kind == "shape":  # OIHW, as a PyTorch port would store it
        arrays["vggish/conv1/weights"] = np.transpose(arrays["vggish/conv1/weights"], (3, 2, 0, 1))
        return arrays, r"vggish/conv1/weights has shape \(64, 1, 3, 3\), expected \(3, 3, 1, 64\)"
    arrays["vggish/fc2/biases"] = np.zeros(128, np.int32)
    return arrays, r"vggish/fc2/biases has dtype int32"


@pytest.mark.parametrize("kind", ["missing", "shape", "dtype"])
def test_broken_checkpoint_names_the_variable(tmp_path, weights, kind):
    arrays, match = _broken(weights, kind)
    checkpoint = _write_v2(tmp_path / "broken" / "ckpt", arrays)  # V2 is read the same way
    try:
        with pytest.raises(ValueError, match=match) as error:
            convert_checkpoint(checkpoint, tmp_path / "export")
    finally:
        shutil.rmtree(tmp_path / "broken")  # 290 MB that pytest would keep for three runs
    assert "not a VGGish checkpoint" in str(error.value)
    assert not (tmp_path / "export").exists()


def test_unreadable_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="could not read the VGGish checkpoint.*no_such.ckpt"):
        convert_checkpoint(tmp_path / "no_such.ckpt", tmp_path / "export")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"pca_eigen_vectors": np.eye(128)}, "lacks pca_means"),
        ({"pca_eigen_vectors": np.eye(64), "pca_means": np.zeros((128, 1))}, r"\(64, 64\)"),
        ({"pca_eigen_vectors": np.eye(128), "pca_means": np.zeros((1, 128))}, r"\(1, 128\)"),
    ],
)
def test_bad_pca_params(tmp_path, checkpoint, params, match):
    np.savez(tmp_path / "pca.npz", **params)
    with pytest.raises(ValueError, match=match):
        convert_checkpoint(checkpoint, tmp_path / "export", pca_params=tmp_path / "pca.npz")
    assert not (tmp_path / "export").exists()


# -- the "checkpoint" embedder -----------------------------------------------------------------


def test_checkpoint_is_a_source():
    assert "checkpoint" in vggish.SOURCES


def test_checkpoint_embedder_batches_across_clips(export_raw, weights):
    embedder = load_embedder(source="checkpoint", savedmodel=export_raw, seed=3)
    assert (embedder.source, embedder.pretrained) == ("checkpoint", True)
    assert embedder.description == f"AudioSet VGGish checkpoint converted to {export_raw} (no PCA)"
    clips = _examples(3, 0, 9, 1, seed=4)  # 13 examples: one full batch of 8 and a padded one
    batched = embedder.embed([None] * len(clips), clips, batch_size=8)
    assert [e.shape for e in batched] == [(3, 128), (0, 128), (9, 128), (1, 128)]
    for clip, together in zip(clips, batched, strict=True):
        (alone,) = embedder.embed([None], [clip], batch_size=8)
        assert together.dtype == np.float32
        np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)
    expected = _direct_vggish(weights, np.concatenate(clips))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(np.concatenate(batched), expected, rtol=TOLERANCE, atol=TOLERANCE * scale)


def test_checkpoint_embedder_with_pca_gives_codes(export_pca, export_raw, log_mel, pca):
    embedder = load_embedder(source="checkpoint", savedmodel=export_pca)
    assert embedder.description.endswith("(PCA+quantized)") and embedder.pretrained
    (codes,) = embedder.embed([None], [log_mel], batch_size=4)
    np.testing.assert_array_equal(codes, _serve(export_pca, log_mel))
    assert codes.dtype == np.float32 and 0 <= codes.min() and codes.max() <= 255


def test_checkpoint_source_needs_a_savedmodel():
    with pytest.raises(ValueError, match="vggish.savedmodel is empty"):
        load_embedder(source="checkpoint")


@pytest.mark.parametrize("make_dir", [False, True])
def test_missing_export_says_how_to_make_it(tmp_path, make_dir):
    missing = tmp_path / "not_converted"
    if make_dir:
        missing.mkdir()
    with pytest.raises(FileNotFoundError, match="not_converted") as error:
        load_embedder(source="checkpoint", savedmodel=str(missing))
    assert "convert_checkpoint" in str(error.value)
    assert ("no saved_model.pb" if make_dir else "no such directory") in str(error.value)


def test_other_savedmodel_is_rejected(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda x: x, input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "other"))
    with pytest.raises(ValueError, match="not one written by"):
        load_embedder(source="checkpoint", savedmodel=str(tmp_path / "other"))
