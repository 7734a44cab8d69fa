"""eGeMAPS: the openSMILE functionals against what the signal is known to be, and their per-shard cache."""

import numpy as np
import pytest
import soundfile as sf

from impressions.features.egemaps import egemaps_cache, feature_names, functionals
from impressions.io.cache import CacheReader

RATE = 16000
F0 = "F0semitoneFrom27.5Hz_sma3nz_amean"
LOUDNESS = "loudness_sma3_amean"


def tone(f0: float, *, seconds: float = 2.0, amplitude: float = 0.3, harmonics: int = 1) -> np.ndarray:
    """A periodic signal of fundamental `f0` (harmonics falling as 1/k, like a buzzing voice), peak `amplitude`."""
    t = np.arange(int(seconds * RATE)) / RATE
    y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1))
    return (amplitude * y / np.abs(y).max()).astype(np.float32)


def test_88_finite_functionals_named_as_openSMILE_documents_them():
    names = feature_names()
    assert len(names) == len(set(names)) == 88
    assert names[0] == F0 and {LOUDNESS, "jitterLocal_sma3nz_amean", "HNRdBACF_sma3nz_amean", "equivalentSoundLevel_dBp"} <= set(names)
    values = functionals(tone(200.0, harmonics=5))
    assert values.shape == (1, 88) and values.dtype == np.float32 and np.isfinite(values).all()


@pytest.mark.parametrize("f0", [100.0, 150.0, 220.0, 400.0])
@pytest.mark.parametrize("harmonics", [1, 7])
def test_the_pitch_of_a_tone_is_its_f0_in_semitones_above_27_5_hz(f0, harmonics):
    values = dict(zip(feature_names(), functionals(tone(f0, harmonics=harmonics))[0]))
    assert values[F0] == pytest.approx(12 * np.log2(f0 / 27.5), abs=0.5)


def test_loudness_grows_with_the_power_law_of_the_auditory_spectrum():
    """eGeMAPS loudness sums a mel power spectrum compressed by the power 0.33 (its cPlp config):
    ten times the amplitude is 100 times the power, so 100 ** 0.33 = 4.57 times the loudness."""
    y = tone(220.0, harmonics=3, amplitude=1.0)
    column = feature_names().index(LOUDNESS)
    quiet, loud = functionals(0.05 * y)[0, column], functionals(0.5 * y)[0, column]
    assert loud > quiet > 0
    assert loud / quiet == pytest.approx(100**0.33, rel=0.03)


@pytest.mark.parametrize(
    "waveform, message",
    [
        (np.zeros(480, np.float32), "non-finite functionals of 0.030 s of audio"),  # shorter than its 60 ms pitch window
        (np.zeros((2, RATE), np.float32), r"mono floating point, shape \(samples,\)"),
        (np.zeros(RATE, np.int16), "mono floating point"),
        (np.full(RATE, 1.5, np.float32), r"finite and in \[-1, 1\]"),
    ],
)
@pytest.mark.filterwarnings("ignore:Segment too short:UserWarning")  # opensmile warns, then gives the NaNs refused here
def test_audio_it_cannot_summarise_is_refused_with_the_reason(waveform, message):
    with pytest.raises(ValueError, match=message):
        functionals(waveform)


@pytest.fixture
def wav_folder(tmp_path):
    """A shard's wav folder: two tones, a 30 ms clip too short for eGeMAPS and a file that is no wav."""
    folder = tmp_path / "wav"
    folder.mkdir()
    sf.write(folder / "low.001.wav", tone(120.0, harmonics=5), RATE, subtype="PCM_16")
    sf.write(folder / "high.002.wav", tone(300.0, harmonics=5), RATE, subtype="PCM_16")
    sf.write(folder / "short.003.wav", tone(200.0, seconds=0.03), RATE, subtype="PCM_16")
    (folder / "broken.004.wav").write_bytes(b"RIFF, but not a wav")
    return folder


CACHE_CLIPS = ["low.001", "short.003", "high.002", "broken.004"]


@pytest.mark.filterwarnings("ignore:Segment too short:UserWarning")
def test_the_cache_holds_each_clips_functionals_and_lists_the_clips_it_could_not_compute(wav_folder, tmp_path):
    egemaps_cache(CACHE_CLIPS, wav_folder, tmp_path / "000.h5", log=lambda _: None)
    with CacheReader(tmp_path / "000.h5") as cache:
        assert cache.clip_ids == ["low.001", "high.002"]
        assert set(cache.failed) == {"short.003", "broken.004"}
        assert cache.failed["short.003"].startswith("not computed: openSMILE gave ") and "0.030 s of audio" in cache.failed["short.003"]
        assert cache.failed["broken.004"].startswith("not computed: ") and "not a readable wav" in cache.failed["broken.004"]
        assert cache.params["feature_names"] == feature_names() and cache.params["feature_set"] == "eGeMAPSv02"
        for clip, f0 in (("low.001", 120.0), ("high.002", 300.0)):
            stored = cache.get("functionals", clip)
            assert stored.shape == (1, 88) and stored.dtype == np.float32
            waveform, rate = sf.read(wav_folder / f"{clip}.wav", dtype="float32")
            np.testing.assert_array_equal(stored, functionals(waveform, sample_rate=rate))
            assert stored[0, 0] == pytest.approx(12 * np.log2(f0 / 27.5), abs=0.5)


@pytest.mark.filterwarnings("ignore:Segment too short:UserWarning")
def test_the_same_wavs_give_the_same_cache_bytes_and_an_empty_shard_keeps_the_layout(wav_folder, tmp_path):
    for name in ("a.h5", "b.h5"):
        egemaps_cache(CACHE_CLIPS, wav_folder, tmp_path / name, log=lambda _: None)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    egemaps_cache([], wav_folder, tmp_path / "empty.h5", log=lambda _: None)
    with CacheReader(tmp_path / "empty.h5") as cache:
        assert cache.clip_ids == [] and cache.all("functionals") == [] and len(cache.params["feature_names"]) == 88
