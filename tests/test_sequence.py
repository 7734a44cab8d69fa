"""The sequence models: attention pooling against numpy, a timing problem the aligned model must
learn (a word and a voice bump at the same step, against the same two at different steps),
padding that changes nothing, and their instances from caches written here."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from impressions.cam.attention import peak_time, planted_moment, share_within
from impressions.features.frame_functionals import frame_descriptors, frame_steps, motion_energy
from impressions.io.cache import CacheReader, write_cache
from impressions.models import instances
from impressions.models.registry import MODELS
from impressions.models.sequence import AttentionPooling, ClipDeviation, MaskedMean, aligned_gru, crossmodal_attention


def test_attention_pooling_is_a_softmax_over_the_real_steps():
    rng = np.random.default_rng(0)
    values, mask = rng.standard_normal((2, 5, 3)).astype(np.float32), np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.uint8)
    layer = AttentionPooling(seed=1)
    pooled, weights = (np.asarray(x) for x in layer([values, mask]))
    kernel, bias = (np.asarray(w) for w in layer.score.get_weights())
    scores = (values @ kernel)[..., 0] + bias[0]
    expected = np.where(mask == 1, np.exp(scores - scores.max(axis=1, keepdims=True)), 0.0)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(pooled, np.einsum("bt,btf->bf", expected, values), rtol=1e-5, atol=1e-6)
    assert np.all(weights[0, 3:] == 0)


def timing_problem(n: int, rng: np.random.Generator, steps: int = 12):
    """Every clip has a word (text column 0) at one step and a voice bump (audio band 0) at one step;
    class 1 when they are at the same step, class 0 when at different ones: neither alone tells."""
    audio = rng.standard_normal((n, steps, 4)).astype(np.float32) * 0.1
    text = np.zeros((n, steps, 3), np.float32)
    labels = np.arange(n) % 2
    word = rng.integers(0, steps, n)
    bump = np.where(labels == 1, word, (word + rng.integers(3, steps - 2, n)) % steps)
    text[np.arange(n), word, 0] = 1.0
    audio[np.arange(n), bump, 0] += 3.0
    mask = np.ones((n, steps), np.uint8)
    return {"audio": audio, "mask": mask, "text": text}, labels, word


def test_the_aligned_model_learns_a_word_and_a_voice_change_at_the_same_step_and_looks_there():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train, y_train, _ = timing_problem(400, rng)
    test, y_test, word = timing_problem(200, rng)
    model = aligned_gru(steps=12, bands=4, video_dim=None, text_dim=3, units=16, dropout=0.0, output_activation="linear", n_outputs=2, seed=0)
    model.get_layer("audio_standardize").adapt(train["audio"])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, y_train, epochs=30, batch_size=32, verbose=0)
    accuracy = float(np.mean(model.predict(test, verbose=0).argmax(axis=1) == y_test))
    assert accuracy > 0.9, accuracy
    weights = np.asarray(keras.Model(model.inputs, model.get_layer("attention_pool").output[1]).predict(test, verbose=0))
    together = y_test == 1
    assert np.mean(weights[together].argmax(axis=1) == word[together]) > 0.8  # it looks at the moment that tells


def streams(rng, *, tokens: int, real_tokens: int):
    return {
        "audio": rng.standard_normal((1, 20, 8)).astype(np.float32),
        "audio_mask": np.array([[1] * 15 + [0] * 5], np.uint8),
        "audio_time": instances.time_code(np.arange(20) * 0.032)[None],
        "frames": rng.standard_normal((1, 3, 9)).astype(np.float32),
        "frames_mask": np.ones((1, 3), np.uint8),
        "frames_time": instances.time_code(np.array([0.1, 0.3, 0.5]))[None],
        "tokens": rng.standard_normal((1, tokens, 5)).astype(np.float32),
        "tokens_mask": np.array([[1] * real_tokens + [0] * (tokens - real_tokens)], np.uint8),
        "tokens_time": instances.time_code(np.linspace(0, 0.5, tokens))[None],
    }


def test_the_crossmodal_model_ignores_what_its_masks_pad_and_survives_saving(tmp_path):
    model = crossmodal_attention(audio_shape=(20, 8), frames_shape=(3, 9), tokens_shape=(6, 5), units=8, n_outputs=3, output_activation="linear")
    x = streams(np.random.default_rng(0), tokens=6, real_tokens=4)
    changed = {key: value.copy() for key, value in x.items()}
    changed["audio"][:, 15:] += 100.0
    changed["tokens"][:, 4:] -= 50.0
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(changed, verbose=0), rtol=1e-5, atol=1e-5)
    weights = keras.Model(model.inputs, model.get_layer("audio_pool").output[1]).predict(x, verbose=0)
    assert weights.shape == (1, 20) and np.all(weights[0, 15:] == 0) and weights.sum() == pytest.approx(1.0, abs=1e-5)
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_time_code_by_hand():
    code = instances.time_code(np.array([0.0, 1.0]))
    assert code.shape == (2, 10) and code.dtype == np.float32
    np.testing.assert_allclose(code[0], [0] * 5 + [1] * 5, atol=1e-7)
    # 1 s at 0.25, 0.5, 1, 2, 4 Hz: angles pi/2, pi, 2 pi, 4 pi, 8 pi
    np.testing.assert_allclose(code[1], [1, 0, 0, 0, 0, 0, -1, 1, 1, 1], atol=1e-6)


def test_padded_cuts_or_pads_and_marks_the_real_ones():
    out, mask = instances.padded(np.arange(6, dtype=np.float32).reshape(3, 2), 5)
    np.testing.assert_array_equal(out, [[0, 1], [2, 3], [4, 5], [0, 0], [0, 0]])
    assert mask.tolist() == [1, 1, 1, 0, 0]
    out, mask = instances.padded(np.arange(4), 2)
    assert out.tolist() == [0, 1] and mask.tolist() == [1, 1]


@pytest.fixture
def readers(tmp_path):
    """One clip in an aligned cache (with text, 3 tokens), an MFCC cache (100 frames) and a frame cache (6 frames)."""
    rng = np.random.default_rng(1)
    aligned = {
        "audio": [rng.standard_normal((10, 64)).astype(np.float32)],
        "mask": [np.array([1] * 7 + [0] * 3, np.uint8)],
        "video": [rng.integers(0, 256, (10, 4, 6, 3), dtype=np.uint8)],
        "text": [rng.random((10, 8)).astype(np.float32)],
        "tokens": [np.eye(8, dtype=np.float32)[:3]],
        "token_times": [np.array([0.2, 0.9, 1.5], np.float32)],
    }
    params = {"step_s": 0.24, "max_steps": 10, "video": {"height": 4}, "text": {"features": 8}}
    write_cache(tmp_path / "aligned.h5", ["c"], aligned, params)
    write_cache(tmp_path / "mfcc.h5", ["c"], {"log_mel_db": [rng.standard_normal((100, 128)).astype(np.float32)]}, {"hop_length": 512})
    write_cache(tmp_path / "frames.h5", ["c"], {"frames": [rng.integers(0, 256, (6, 4, 6, 3), dtype=np.uint8)]}, {})
    opened = {family: CacheReader(tmp_path / f"{family}.h5") for family in ("aligned", "mfcc", "frames")}
    yield opened, aligned
    for reader in opened.values():
        reader.close()


def test_aligned_steps_are_the_cache_arrays(readers):
    opened, arrays = readers
    (instance,) = instances.aligned_steps(opened, "c", {})
    assert sorted(instance) == ["audio", "mask", "text", "video"]
    for name in ("audio", "mask", "text"):
        np.testing.assert_array_equal(instance[name], arrays[name][0])
    np.testing.assert_array_equal(instance["video"], frame_steps(arrays["video"][0]))  # each step's frame as its colour and motion
    assert instances.aligned_inputs(instance) == {"steps": 10, "bands": 64, "video_dim": 9, "text_dim": 8}
    np.testing.assert_allclose(instances.step_times(instance, {"aligned": {"step_s": 0.24}}), (np.arange(10) + 0.5) * 0.24)


def test_unaligned_streams_keep_each_rate_and_the_times(readers):
    opened, arrays = readers
    (instance,) = instances.unaligned_streams(opened, "c", {"max_tokens": 5})
    horizon_frames = int(np.ceil(10 * 0.24 / 0.032))  # 2.4 s at 32 ms a frame: 75
    assert instance["audio"].shape == (horizon_frames, 128) and instance["audio_mask"].sum() == 75  # 100 frames, cut to the horizon
    np.testing.assert_array_equal(instance["audio"], opened["mfcc"].get("log_mel_db", "c")[:75])
    np.testing.assert_allclose(instance["audio_time"], instances.time_code(np.arange(75) * 0.032))
    duration = 99 * 0.032
    np.testing.assert_array_equal(instance["frames"], frame_steps(opened["frames"].get("frames", "c")))
    np.testing.assert_allclose(instance["frames_time"], instances.time_code((np.arange(6) + 0.5) * duration / 6))
    assert instance["tokens"].shape == (5, 8) and instance["tokens_mask"].tolist() == [1, 1, 1, 0, 0]
    np.testing.assert_allclose(instance["tokens_time"][:3], instances.time_code(np.array([0.2, 0.9, 1.5])), atol=1e-6)
    shapes = instances.unaligned_inputs(instance)
    assert shapes == {"audio_shape": (75, 128), "frames_shape": (6, 9), "tokens_shape": (5, 8), "time_dim": 10}
    np.testing.assert_allclose(instances.audio_frame_times(instance, {"mfcc": {"hop_length": 512}}), np.arange(75) * 0.032)


def test_the_registry_knows_where_each_sequence_model_looks():
    assert MODELS["aligned_gru"].families == ("aligned",) and MODELS["aligned_gru"].attention.layer == "attention_pool"
    assert MODELS["crossmodal_attention"].families == ("mfcc", "frames", "aligned") and MODELS["crossmodal_attention"].attention.mask == "audio_mask"


def test_peaks_planted_moments_and_shares():
    times, weights = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.1, 0.2, 0.3, 0.9])
    assert peak_time(weights, times, np.array([1, 1, 1, 0])) == 0.3  # the padded step's weight does not count
    truth = {"clips": {"a": {"cue": {"change_s": 1.25, "together": True}}, "b": {"cue": {"change_s": 2.0, "together": False}}, "c": {}}}
    assert planted_moment(truth, "a") == 1.25 and planted_moment(truth, "b") is None and planted_moment(truth, "c") is None
    assert planted_moment(None, "a") is None and planted_moment(truth, "missing") is None
    entries = [{"planted_s": 1.0, "within": True}, {"planted_s": 2.0, "within": False}, {"planted_s": None, "within": False}]
    entries.append({"planted_s": 3.0, "within": True})
    assert share_within(entries) == {"planted": 3, "within": 2, "share": pytest.approx(2 / 3)}
    assert share_within(entries[2:3]) == {"planted": 0, "within": 0, "share": None}


def test_masked_mean_and_clip_deviation_count_the_real_steps_only():
    values = np.array([[[1.0, 2.0], [3.0, 6.0], [100.0, 100.0]]], np.float32)
    mask = np.array([[1, 1, 0]], np.uint8)
    np.testing.assert_allclose(np.asarray(MaskedMean()([values, mask])), [[2.0, 4.0]])
    np.testing.assert_allclose(np.asarray(ClipDeviation()([values, mask])), [[[-1.0, -2.0], [1.0, 2.0], [0.0, 0.0]]])


def test_attention_scored_from_a_third_input_ignores_the_values_for_the_weights():
    rng = np.random.default_rng(3)
    values, scored, mask = rng.standard_normal((1, 4, 3)).astype(np.float32), rng.standard_normal((1, 4, 2)).astype(np.float32), np.ones((1, 4), np.uint8)
    layer = AttentionPooling(seed=2)
    _, weights = layer([values, mask, scored])
    _, again = layer([values * 10 + 5, mask, scored])
    np.testing.assert_allclose(np.asarray(weights), np.asarray(again), rtol=1e-6)
    kernel, bias = (np.asarray(w) for w in layer.score.get_weights())
    scores = (scored @ kernel)[..., 0] + bias[0]
    np.testing.assert_allclose(np.asarray(weights), np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True), rtol=1e-5)


def test_frame_steps_are_the_descriptors_and_the_motion_from_the_frame_before():
    frames = np.random.default_rng(4).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    steps = frame_steps(frames)
    assert steps.shape == (3, 9) and steps.dtype == np.float32
    np.testing.assert_allclose(steps[:, :8], frame_descriptors(frames))
    luma = frames.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255
    np.testing.assert_allclose(steps[:, 8], [0.0, *np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2))], atol=1e-5)
    np.testing.assert_allclose(steps[1:, 8], motion_energy(frames), atol=1e-7)
