"""Model builders: shapes, layer names, the CAM identity, conv-weight copying, fusion augmentation."""

import keras
import numpy as np
import pytest

from impressions import TRAITS
from impressions.io.errors import InputError
from impressions.models.registry import MODELS, build
from impressions.models.train import copy_conv_weights

SMALL_FUSION = {"mfcc_shape": (24, 40, 1), "frames_shape": (6, 140, 248, 3)}
CAM_MODELS = ("clip_cam_cnn", "summary_cam_cnn", "rawwav_cam_cnn")


def random_inputs(model: keras.Model, batch: int, seed: int = 0):
    """Random inputs for every model input: uint8 frames, standard normal floats otherwise."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for tensor in model.inputs:
        shape = (batch, *tensor.shape[1:])
        if tensor.dtype == "uint8":
            arrays[tensor.name] = rng.integers(0, 256, shape, dtype=np.uint8)
        else:
            arrays[tensor.name] = rng.normal(size=shape).astype(np.float32)
    return arrays if len(arrays) > 1 else next(iter(arrays.values()))


def weights_of(model: keras.Model) -> list[np.ndarray]:
    return [w.numpy() for w in model.weights]


@pytest.fixture(scope="module")
def small_fusion():
    return build("fusion", **SMALL_FUSION)


@pytest.mark.parametrize("name", sorted(name for name, spec in MODELS.items() if spec.framework == "keras" and not name.startswith("fusion")))
def test_every_registered_model_builds_with_defaults_and_predicts_five_traits(name):
    model = build(name)
    assert model.name == name
    out = model(random_inputs(model, batch=2), training=False)
    assert tuple(out.shape) == (2, len(TRAITS))
    assert model.get_layer("outputs").units == len(TRAITS)


def test_fusion_builds_with_defaults():
    model = build("fusion")
    assert model.name == "fusion" and sorted(model.input) == ["frames", "mfcc"]
    assert tuple(model.output.shape) == (None, len(TRAITS))


@pytest.mark.parametrize(
    ("name", "first"),
    [("clip_cnn", "log_mel"), ("summary_cnn", "summary")],
)
def test_cnn_layer_names_read_like_the_architecture(name, first):
    model = build(name)
    convs = [name for i in range(1, 5) for name in (f"conv{i}", f"pool{i}")]
    assert [layer.name for layer in model.layers] == [first, "standardize", "add_channel", *convs, "flatten", "dense", "dropout", "outputs"]
    assert model.get_layer("outputs").activation.__name__ == "sigmoid"


@pytest.mark.parametrize("name", CAM_MODELS)
def test_cam_models_end_in_an_unpooled_conv_then_gap_and_a_linear_output(name):
    model = build(name)
    names = [layer.name for layer in model.layers]
    last = f"conv{sum(n.startswith('conv') for n in names)}"
    assert names[-3:] == [last, "gap", "outputs"]
    assert f"pool{last[4:]}" not in names and "standardize" in names
    assert model.get_layer("outputs").activation.__name__ == "linear"
    rank = 3 if name == "rawwav_cam_cnn" else 4
    assert len(model.get_layer(last).output.shape) == rank


def test_clip_cam_cnn_conv_maps_keep_their_resolution():
    model = build("clip_cam_cnn")
    assert tuple(model.get_layer("conv4").output.shape) == (None, 12, 8, 64)  # 96 x 64 after 3 pools


@pytest.mark.parametrize("name", CAM_MODELS)
def test_cam_mean_plus_bias_equals_the_prediction(name):
    model = build(name, seed=3)
    x = random_inputs(model, batch=3, seed=1)
    last = [layer.name for layer in model.layers if layer.name.startswith("conv")][-1]
    maps = keras.Model(model.input, model.get_layer(last).output)(x).numpy().astype(np.float64)
    kernel, bias = model.get_layer("outputs").get_weights()
    cams = np.einsum("...k,kt->...t", maps, kernel.astype(np.float64))  # (batch, *space, traits)
    spatial_axes = tuple(range(1, cams.ndim - 1))
    np.testing.assert_allclose(cams.mean(axis=spatial_axes) + bias, model(x, training=False).numpy(), atol=1e-4)


def test_copy_conv_weights_copies_every_shared_conv_layer():
    source, target = build("clip_cnn", seed=1), build("clip_cam_cnn", seed=2)
    assert not np.array_equal(source.get_layer("conv1").get_weights()[0], target.get_layer("conv1").get_weights()[0])
    assert copy_conv_weights(source, target) == ["conv1", "conv2", "conv3", "conv4"]
    for name in ("conv1", "conv2", "conv3", "conv4"):
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_copy_conv_weights_refuses_mismatched_shapes_and_copies_nothing():
    source, target = build("clip_cnn", seed=1), build("clip_cam_cnn", filters=(16, 32, 64, 32), seed=2)
    before = weights_of(target)
    with pytest.raises(ValueError, match=r"conv4: \[\(3, 3, 64, 64\), \(64,\)\]"):
        copy_conv_weights(source, target)
    for a, b in zip(before, weights_of(target)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="share no conv"):
        copy_conv_weights(build("vggish_head"), target)


def test_builders_are_seeded():
    a, b, c = build("clip_cnn", seed=5), build("clip_cnn", seed=5), build("clip_cnn", seed=6)
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_layer("conv1").get_weights()[0], c.get_layer("conv1").get_weights()[0])


def test_fusion_is_seeded_and_its_lstm_directions_differ(small_fusion):
    for wa, wb in zip(weights_of(small_fusion), weights_of(build("fusion", **SMALL_FUSION))):
        np.testing.assert_array_equal(wa, wb)
    blstm = small_fusion.get_layer("audio_blstm1")
    assert not np.array_equal(blstm.forward_layer.get_weights()[0], blstm.backward_layer.get_weights()[0])


def test_standardize_adapts_to_one_scalar_mean_and_variance():
    model = build("clip_cnn")
    model.get_layer("standardize").adapt(np.random.default_rng(0).normal(3.0, 2.0, size=(20, 96, 64)).astype(np.float32))
    mean, variance = (w.numpy() for w in model.get_layer("standardize").weights[:2])
    assert mean.shape == () and variance.shape == ()
    assert abs(float(mean) - 3.0) < 0.05 and abs(float(variance) - 4.0) < 0.1


def test_output_activation_is_configurable_and_checked():
    assert build("vggish_head", output_activation="linear").get_layer("outputs").activation.__name__ == "linear"
    assert build("clip_cam_cnn", output_activation="sigmoid").get_layer("outputs").activation.__name__ == "sigmoid"
    with pytest.raises(InputError, match="output_activation='tanh'.*'sigmoid', 'linear'"):
        build("clip_cnn", output_activation="tanh")


@pytest.mark.parametrize("name", sorted(name for name, spec in MODELS.items() if spec.framework == "keras"))
def test_every_model_ends_in_one_unit_per_class_when_asked(name):
    model = build(name, n_outputs=7, **(SMALL_FUSION if name.startswith("fusion") else {}))
    assert tuple(model(random_inputs(model, batch=2), training=False).shape) == (2, 7)


def test_fusion_with_text_reads_a_third_input_that_changes_its_output():
    model = build("fusion", text_dim=12, n_outputs=3, dropout=0.0, **SMALL_FUSION)
    assert sorted(model.input) == ["frames", "mfcc", "text"] and model.get_layer("text_dense").units == 64
    model.get_layer("outputs").set_weights([np.random.default_rng(0).normal(size=w.shape).astype(np.float32) for w in model.get_layer("outputs").get_weights()])
    inputs = random_inputs(model, batch=2)
    other = {**inputs, "text": np.random.default_rng(9).uniform(size=(2, 12)).astype(np.float32)}
    assert not np.allclose(model(inputs, training=False), model(other, training=False))


@pytest.mark.parametrize(("audio", "temporal"), [("blstm", "gru"), ("conv1d_lstm", "max"), ("conv2d", "max")])
def test_fusion_audio_and_temporal_options_build_and_run(audio, temporal):
    model = build("fusion", audio=audio, temporal=temporal, **SMALL_FUSION)
    names = {layer.name for layer in model.layers}
    assert {"mfcc_standardize", "audio_dense", "visual_crop", "visual_backbone", "visual_pool", "concat", "fusion_dense", "outputs"} <= names
    out = model(random_inputs(model, batch=2), training=False).numpy()
    assert out.shape == (2, len(TRAITS)) and np.isfinite(out).all()


def test_fusion_default_is_blstm_vgg_max(small_fusion):
    names = {layer.name for layer in small_fusion.layers}
    assert {"audio_blstm1", "audio_blstm2"} <= names
    assert small_fusion.get_layer("visual_backbone").layer.name == "vgg_backbone"
    assert type(small_fusion.get_layer("visual_pool")).__name__ == "GlobalMaxPooling1D"


def test_fusion_rejects_unknown_choices_and_oversized_crops():
    with pytest.raises(InputError, match="audio='gru'"):
        build("fusion", audio="gru", **SMALL_FUSION)
    with pytest.raises(InputError, match="visual='vgg16'"):
        build("fusion", visual="vgg16", **SMALL_FUSION)
    with pytest.raises(InputError, match="temporal='mean'"):
        build("fusion", temporal="mean", **SMALL_FUSION)
    with pytest.raises(InputError, match="crop=160"):
        build("fusion", crop=160, **SMALL_FUSION)


def test_crop_is_random_in_training_and_the_centre_at_inference(small_fusion):
    crop = small_fusion.get_layer("visual_crop")
    images = np.random.default_rng(0).random((2, 140, 248, 18), dtype=np.float32)
    centre = images[:, 6:134, 60:188]
    for _ in range(2):
        np.testing.assert_array_equal(crop(images, training=False).numpy(), centre)
    first, second = crop(images, training=True).numpy(), crop(images, training=True).numpy()
    assert first.shape == (2, 128, 128, 18) and not np.array_equal(first, second)
    for image, cropped in zip(images, first):  # each is some 128 x 128 window of its own image
        assert any(np.array_equal(image[t : t + 128, c : c + 128], cropped) for t in range(13) for c in range(121))


def test_fusion_augments_a_clip_consistently_and_predicts_deterministically(small_fusion):
    x = random_inputs(small_fusion, batch=2)
    x["frames"][:] = x["frames"][:, :1]  # every frame of a clip the same
    augmented = keras.Model(small_fusion.input, small_fusion.get_layer("visual_frames_first").output)(x, training=True).numpy()
    assert augmented.shape == (2, 6, 128, 128, 3)
    np.testing.assert_array_equal(augmented, np.repeat(augmented[:, :1], 6, axis=1))
    np.testing.assert_array_equal(small_fusion(x, training=False).numpy(), small_fusion(x, training=False).numpy())
    assert not np.array_equal(small_fusion(x, training=True).numpy(), small_fusion(x, training=True).numpy())


def test_fusion_saves_and_loads_with_its_custom_layers(small_fusion, tmp_path):
    small_fusion.save(tmp_path / "fusion.keras")
    loaded = keras.models.load_model(tmp_path / "fusion.keras")
    x = random_inputs(small_fusion, batch=1)
    np.testing.assert_allclose(loaded(x, training=False).numpy(), small_fusion(x, training=False).numpy(), atol=1e-6)


def test_fusion_resnet50_builds_without_downloaded_weights():
    model = build("fusion", visual="resnet50", **SMALL_FUSION)
    assert model.get_layer("visual_backbone").layer.name == "resnet50_backbone"
    assert model.count_params() > 20_000_000
    out = model(random_inputs(model, batch=1), training=False).numpy()
    assert out.shape == (1, len(TRAITS)) and np.isfinite(out).all()
