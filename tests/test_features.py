"""Tests for impressions.features.transforms: the VGGish front end against an independent implementation.

The reference in this file computes the same definition a different way (a loop over frames,
scipy's Hann window, the HTK mel formula written out, a triangle per band computed point by
point), so an error in the vectorised code is not mirrored here.
"""

from __future__ import annotations

import math

import h5py
import librosa
import numpy as np
import pytest
import scipy.signal

from impressions.features import transforms
from impressions.features.transforms import (
    VGGISH_FRONT_END,
    htk_mel_matrix,
    mfcc,
    vggish_band_edges,
    vggish_examples,
    vggish_log_mel,
)

SR = 16000

# float32 output of a float64 computation; log-mel values lie within about [-4.7, 6], so
# rounding to float32 alone costs < 1e-6. 1e-4 leaves room for FFT/matmul summation order.
LOG_MEL_ATOL = 1e-4


def _htk_mel(hz: float) -> float:
    return 1127.0 * math.log(1.0 + hz / 700.0)


def _reference_mel_weights() -> np.ndarray:
    """HTK triangles in mel space, one FFT bin and one band at a time."""
    n_bins, n_mels = 257, 64
    lo, hi = _htk_mel(125.0), _htk_mel(7500.0)
    step = (hi - lo) / (n_mels + 1)
    weights = np.zeros((n_bins, n_mels))
    for k in range(1, n_bins):  # bin 0 (DC) keeps zero weight
        m = _htk_mel(k * SR / 512)
        for b in range(n_mels):
            left, centre, right = lo + b * step, lo + (b + 1) * step, lo + (b + 2) * step
            if left < m <= centre:
                weights[k, b] = (m - left) / (centre - left)
            elif centre < m < right:
                weights[k, b] = (right - m) / (right - centre)
    return weights


def _reference_log_mel(y: np.ndarray) -> np.ndarray:
    window = scipy.signal.get_window("hann", 400, fftbins=True)
    weights = _reference_mel_weights()
    rows = []
    start = 0
    while start + 400 <= len(y):
        frame = np.zeros(512)
        frame[:400] = y[start : start + 400].astype(np.float64) * window
        rows.append(np.log(np.abs(np.fft.fft(frame))[:257] @ weights + 0.01))
        start += 160
    return np.array(rows).reshape(-1, 64)


def _tone(freq_hz: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, 2 * SR + 123).astype(np.float32)


def test_log_mel_matches_independent_reference_on_noise(noise):
    expected = _reference_log_mel(noise)
    np.testing.assert_allclose(vggish_log_mel(noise), expected, rtol=0, atol=LOG_MEL_ATOL)


def test_log_mel_matches_independent_reference_on_tone():
    y = _tone(440.0, 1.3)
    np.testing.assert_allclose(vggish_log_mel(y), _reference_log_mel(y), rtol=0, atol=LOG_MEL_ATOL)


def test_mel_matrix_matches_independent_triangles():
    np.testing.assert_allclose(htk_mel_matrix(), _reference_mel_weights(), rtol=0, atol=1e-12)


def test_mel_matrix_gives_dc_zero_weight_and_every_band_some():
    weights = htk_mel_matrix()
    assert weights.shape == (257, 64)
    assert np.all(weights[0] == 0.0)
    assert np.all(weights.max(axis=0) > 0.0)


def test_1khz_tone_peaks_in_the_band_containing_1khz():
    lo, hi = _htk_mel(125.0), _htk_mel(7500.0)
    centres = lo + (np.arange(64) + 1) * (hi - lo) / 65
    expected_band = int(np.argmin(np.abs(centres - _htk_mel(1000.0))))
    log_mel = vggish_log_mel(_tone(1000.0, 1.0))
    assert int(np.argmax(log_mel.mean(axis=0))) == expected_band


def test_band_edges_span_the_front_end_and_each_band_peaks_at_its_centre():
    edges = vggish_band_edges()
    assert edges.shape == (66,) and edges[0] == pytest.approx(125.0) and edges[-1] == pytest.approx(7500.0)
    assert np.all(np.diff(edges) > 0)
    weights = htk_mel_matrix()
    bin_hz = np.linspace(0, 8000, 257)
    peaks = bin_hz[np.argmax(weights, axis=0)]
    assert np.all(np.abs(peaks - edges[1:-1]) <= 8000 / 256)  # within one FFT bin of the centre


@pytest.mark.parametrize(
    ("n_samples", "n_frames"),
    [(0, 0), (399, 0), (400, 1), (559, 1), (560, 2), (SR, 98), (5 * SR, 498), (15 * SR, 1498)],
)
def test_frame_count_drops_incomplete_frames(n_samples, n_frames):
    log_mel = vggish_log_mel(np.zeros(n_samples, dtype=np.float32))
    assert log_mel.shape == (n_frames, 64)
    assert log_mel.dtype == np.float32


@pytest.mark.parametrize(
    ("seconds", "n_examples"),
    # 0.96 s holds only 94 frames (the 25 ms window overhangs); 0.975 s is the first with 96.
    [(0.0, 0), (0.5, 0), (0.96, 0), (0.975, 1), (5.0, 5), (10.5, 10), (15.0, 15)],
)
def test_example_count_drops_incomplete_example(seconds, n_examples):
    examples = vggish_examples(np.zeros(round(seconds * SR), dtype=np.float32))
    assert examples.shape == (n_examples, 96, 64)
    assert examples.dtype == np.float32


def test_examples_are_consecutive_96_frame_blocks_of_the_log_mel(noise):
    log_mel = vggish_log_mel(noise)
    examples = vggish_examples(noise)
    assert examples.shape == (2, 96, 64)
    np.testing.assert_array_equal(examples, log_mel[:192].reshape(2, 96, 64))
    assert examples.flags.c_contiguous


def test_silence_maps_to_log_offset():
    log_mel = vggish_log_mel(np.zeros(SR, dtype=np.float32))
    np.testing.assert_allclose(log_mel, np.log(0.01), rtol=0, atol=1e-6)


def test_float64_input_gives_float32_output(noise):
    log_mel = vggish_log_mel(noise.astype(np.float64))
    assert log_mel.dtype == np.float32
    np.testing.assert_allclose(log_mel, vggish_log_mel(noise), rtol=0, atol=LOG_MEL_ATOL)


def test_front_end_parameters_are_consistent_and_storable(tmp_path):
    p = VGGISH_FRONT_END
    assert round(p["sample_rate"] * p["window_s"]) == 400
    assert round(p["sample_rate"] * p["hop_s"]) == 160
    assert p["fft_length"] == 2 ** math.ceil(math.log2(400))
    assert (p["n_mels"], p["fmin"], p["fmax"], p["log_offset"]) == (64, 125.0, 7500.0, 0.01)
    assert p["example_frames"] == p["example_hop_frames"] == 96
    with h5py.File(tmp_path / "attrs.h5", "w") as f:
        f.attrs.update(p)
    with h5py.File(tmp_path / "attrs.h5", "r") as f:
        assert {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()} == p


def test_mfcc_is_librosa_mfcc_time_major(noise):
    expected = librosa.feature.mfcc(y=noise, sr=SR, n_mfcc=24).T
    result = mfcc(noise)
    assert result.shape == (1 + len(noise) // 512, 24)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-4)


def test_mfcc_respects_n_mfcc(noise):
    assert mfcc(noise, n_mfcc=13).shape == (1 + len(noise) // 512, 13)


@pytest.mark.parametrize(
    ("waveform", "match"),
    [
        (np.zeros((2, SR), dtype=np.float32), "mono"),
        (np.zeros((SR, 2), dtype=np.float32), "mono"),
        (np.zeros(SR, dtype=np.int16), "floating point"),
        (np.array([0.0, np.nan, 0.0] * 200, dtype=np.float32), "200 non-finite"),
        (np.array([0.0, np.inf, -np.inf] * 200, dtype=np.float32), "400 non-finite"),
    ],
)
@pytest.mark.parametrize("function", [vggish_log_mel, vggish_examples, mfcc])
def test_bad_waveform_is_rejected_with_reason(function, waveform, match):
    with pytest.raises(ValueError, match=match):
        function(waveform)


@pytest.mark.parametrize("function", [vggish_log_mel, vggish_examples])
def test_vggish_front_end_rejects_other_sample_rates(function):
    with pytest.raises(ValueError, match="16000 Hz.*44100"):
        function(np.zeros(44100, dtype=np.float32), sample_rate=44100)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_mfcc": 0}, "n_mfcc"),
        ({"n_mfcc": 129}, "n_mfcc"),
        ({"sample_rate": 0}, "sample_rate"),
    ],
)
def test_mfcc_rejects_bad_parameters(noise, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mfcc(noise, **kwargs)


def test_mfcc_rejects_empty_waveform():
    with pytest.raises(ValueError, match="empty"):
        mfcc(np.zeros(0, dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fmin": 8000.0, "fmax": 7500.0}, "fmin"),
        ({"fmax": 9000.0}, "Nyquist"),
        ({"n_mels": 0}, "n_mels"),
    ],
)
def test_mel_matrix_rejects_bad_edges(kwargs, match):
    with pytest.raises(ValueError, match=match):
        htk_mel_matrix(**kwargs)


# --- seed 001 spectrograms, seed 002 log-mel dB, raw-wave features ------------------------------


def test_log_mel_db_matches_librosa_and_mfcc_from_it_matches_librosa_mfcc():
    y = np.random.default_rng(5).normal(scale=0.1, size=16000 * 2).astype(np.float32)
    db = transforms.log_mel_db(y, n_mels=128)
    expected = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_mels=128)).T
    np.testing.assert_allclose(db, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(transforms.mfcc(y, n_mfcc=24, log_mel=db), transforms.mfcc(y, n_mfcc=24), atol=1e-4)


def test_clip_spectrogram_keeps_the_first_seconds_and_pads_with_silence():
    examples = np.random.default_rng(0).normal(size=(3, 96, 64)).astype(np.float32)
    patches, n_real = transforms.clip_spectrogram(examples, seconds=5)
    assert patches.shape == (5, 96, 64) and n_real == 3
    np.testing.assert_array_equal(patches[:3], examples)
    assert np.all(patches[3:] == np.float32(np.log(0.01)))
    trimmed, n_real = transforms.clip_spectrogram(examples, seconds=2)
    assert trimmed.shape == (2, 96, 64) and n_real == 2
    with pytest.raises(ValueError, match="at least 1"):
        transforms.clip_spectrogram(examples, seconds=0)


def test_summary_spectrogram_is_the_time_concatenation_average_pooled():
    patches = np.random.default_rng(1).normal(size=(13, 96, 64)).astype(np.float32)
    summary = transforms.summary_spectrogram(patches, pool=6)
    assert summary.shape == (208, 64) and summary.dtype == np.float32
    concatenated = np.concatenate(list(patches), axis=0)  # (1248, 64), time along the first axis
    np.testing.assert_allclose(summary[17], concatenated[102:108].mean(axis=0), rtol=1e-5)
    with pytest.raises(ValueError, match="must divide"):
        transforms.summary_spectrogram(patches, pool=5)


def test_rawwave_fft_finds_a_tone_and_has_a_fixed_standardised_length():
    t = np.arange(16000 * 3) / 16000
    y = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    values, n_real = transforms.rawwave_fft(y, seconds=5, target_rate=4000, n_fft=256, hop_length=128)
    assert values.shape == (155, 129) and values.dtype == np.float32  # 1 + (20000 - 256) // 128
    assert n_real == 92  # 1 + (12000 - 256) // 128 frames of audio, then zero padding
    real = values[:n_real]
    assert abs(real.mean()) < 1e-4 and abs(real.std() - 1) < 1e-3
    assert np.all(values[n_real:] == 0)
    assert int(real.mean(axis=0).argmax()) == 64  # 1000 Hz / (4000 / 256) Hz per bin


def _reference_rawwave(low: np.ndarray, n_frames: int) -> np.ndarray:
    """log(1 + |rfft|) of each periodic-Hann frame of 256 samples every 128, standardised, zero-padded."""
    window = scipy.signal.get_window("hann", 256, fftbins=True)
    rows = [np.log1p(np.abs(np.fft.rfft(low[start : start + 256] * window))) for start in range(0, len(low) - 255, 128)]
    spectrum = np.array(rows[:n_frames])
    features = np.zeros((n_frames, 129))
    features[: len(spectrum)] = (spectrum - spectrum.mean()) / spectrum.std()
    return features


def test_rawwave_fft_defaults_are_13_s_at_4_khz_in_256_sample_frames_against_a_frame_loop():
    y = np.random.default_rng(2).normal(scale=0.1, size=16000 * 3).astype(np.float32)
    values, n_real = transforms.rawwave_fft(y)
    assert values.shape == (405, 129) and n_real == 92  # 1 + (13 * 4000 - 256) // 128; 1 + (12000 - 256) // 128
    low = librosa.resample(y, orig_sr=16000, target_sr=4000, res_type="soxr_hq")
    np.testing.assert_allclose(values, _reference_rawwave(low, 405), atol=1e-4)


def test_rawwave_fft_at_the_edges_of_one_frame():
    at_4khz = {"sample_rate": 4000, "target_rate": 4000}  # no resampling: the samples are the frames
    one, n_real = transforms.rawwave_fft(np.random.default_rng(3).normal(size=256), seconds=0.064, **at_4khz)
    assert one.shape == (1, 129) and n_real == 1
    short, n_real = transforms.rawwave_fft(np.ones(255), seconds=1.0, **at_4khz)  # audio shorter than a frame: all padding
    assert short.shape == (1 + (4000 - 256) // 128, 129) and n_real == 0 and not short.any()
    with pytest.raises(ValueError, match=r"0.06 s at 4000 Hz hold no frame of 256 samples"):
        transforms.rawwave_fft(np.ones(4000), seconds=0.06, **at_4khz)


def test_mel_matrix_sizes_and_edges_at_their_limits():
    assert htk_mel_matrix(n_fft_bins=2, n_mels=1).shape == (2, 1)
    weights = htk_mel_matrix(fmin=0.0, fmax=8000.0)  # edges at 0 Hz and at Nyquist are allowed
    position = _htk_mel(31.25) / (_htk_mel(8000.0) / 65)  # bin 1 (31.25 Hz) in band steps from 0 Hz: 1.13
    assert weights[1, 0] == pytest.approx(2 - position) and weights[1, 1] == pytest.approx(position - 1)
    assert not weights[0].any()
    with pytest.raises(ValueError, match="fmin=1000.0, fmax=1000.0"):
        htk_mel_matrix(fmin=1000.0, fmax=1000.0)


def test_log_mel_db_defaults_shapes_and_parameters():
    y = np.random.default_rng(4).normal(scale=0.1, size=16000).astype(np.float64)
    db = transforms.log_mel_db(y)
    assert db.shape == (32, 128) and db.dtype == np.float32  # 1 + 16000 // 512 frames, 128 bands
    assert transforms.log_mel_db(y, n_mels=40).shape == (32, 40)
    assert transforms.log_mel_db(np.zeros(1)).shape == (1, 128)  # one sample is a frame
    with pytest.raises(ValueError, match=r"waveform is empty; a spectrogram needs at least one sample"):
        transforms.log_mel_db(np.zeros(0))
    for rate in (0, 16000.0):
        with pytest.raises(ValueError, match=rf"sample_rate must be a positive integer in Hz, got {rate!r}"):
            transforms.log_mel_db(y, sample_rate=rate)


def test_mfcc_takes_every_n_mfcc_from_1_to_128_and_returns_float32(noise):
    assert mfcc(noise, n_mfcc=1).shape == (1 + len(noise) // 512, 1)
    full = mfcc(noise.astype(np.float64), n_mfcc=128)
    assert full.shape == (1 + len(noise) // 512, 128) and full.dtype == np.float32
    with pytest.raises(ValueError, match="MFCCs need at least one sample"):
        mfcc(np.zeros(0))


def test_clip_spectrogram_of_one_second():
    patches, n_real = transforms.clip_spectrogram(np.ones((3, 96, 64), np.float32), seconds=1)
    assert patches.shape == (1, 96, 64) and n_real == 1


def test_summary_spectrogram_pools_6_frames_by_default_as_an_exact_mean():
    patches = np.random.default_rng(6).normal(size=(13, 96, 64)).astype(np.float32)
    concatenated = np.concatenate(list(patches), axis=0).astype(np.float64)
    mean = sum(concatenated[k::6] for k in range(6)) / 6  # (208, 64): the mean of each 6 frames, in float64
    np.testing.assert_array_equal(transforms.summary_spectrogram(patches), mean.astype(np.float32))
    np.testing.assert_array_equal(transforms.summary_spectrogram(patches, pool=1), concatenated.astype(np.float32))
    with pytest.raises(ValueError, match="must divide the 96 frames of a patch, got 5"):
        transforms.summary_spectrogram(patches, pool=5)
