"""eGeMAPS: the openSMILE functionals against what the signal is known to be, their per-shard cache,
and the linear baseline on them."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.metrics import r2_score

from impressions import SPLITS, TRAITS
from impressions.features.egemaps import egemaps_cache, feature_names, functionals
from impressions.io.cache import CacheReader, write_cache
from impressions.models.registry import MODELS, build
from impressions.models.sklearn_fit import train_sklearn
from impressions.models.task import Task

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


def linear_problem(n: int = 300, seed: int = 0):
    """Functionals on scales as different as eGeMAPS' (Hz, dB, ratios) and targets linear in them."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-3, 3, size=88)
    x = (rng.normal(size=(n, 88)) * scales + 5 * scales).astype(np.float32)
    weights = rng.normal(size=(88, len(TRAITS))) / scales[:, None]
    y = 0.5 + 0.02 * (x - 5 * scales) @ weights
    return x, y + rng.normal(scale=0.01, size=y.shape)


def test_ridge_recovers_a_linear_target_and_the_scaler_is_in_the_pipeline():
    x, y = linear_problem()
    pipeline = build("egemaps_linear", alphas=(0.01, 1.0), classification=False)
    assert [name for name, _ in pipeline.steps] == ["standardscaler", "functiontransformer", "ridgecv"]
    pipeline.fit(x[:200], y[:200])
    assert r2_score(y[200:], pipeline.predict(x[200:])) > 0.9


def test_logistic_regression_separates_two_separable_classes():
    rng = np.random.default_rng(1)
    scales = 10.0 ** rng.uniform(-3, 3, size=88)
    labels = rng.integers(2, size=200)
    x = (rng.normal(size=(200, 88)) + 3 * labels[:, None] * (np.arange(88) < 4)) * scales
    pipeline = build("egemaps_linear", C=1.0, classification=True)
    assert [name for name, _ in pipeline.steps] == ["standardscaler", "functiontransformer", "logisticregression"]
    pipeline.fit(x[:150], labels[:150])
    assert (pipeline.predict(x[150:]) == labels[150:]).all()


class Outputs:
    def __init__(self, folder):
        self.model, self.excluded = folder / "model.pkl", folder / "excluded.tsv"
        self.predictions = [folder / f"predictions_{s}.csv" for s in SPLITS]


def test_train_sklearn_fits_egemaps_linear_on_the_cache_and_leaves_out_a_clip_it_could_not_compute(tmp_path):
    x, y = linear_problem()
    clips = [f"c{i:03d}" for i in range(len(x))]
    rows = pd.DataFrame({"clip_id": clips, "split": ["train"] * 200 + ["val"] * 50 + ["test"] * 50, "shard": "000", **dict(zip(TRAITS, y.T))})
    write_cache(tmp_path / "000.h5", clips[1:], {"functionals": [v[np.newaxis] for v in x[1:]]}, {}, failed={clips[0]: "not computed: too short"})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    assert MODELS["egemaps_linear"].families == ("egemaps",)
    outputs = Outputs(tmp_path)
    train_sklearn(
        "egemaps_linear",
        manifest=tmp_path / "manifest.tsv",
        caches={"egemaps": [str(tmp_path / "000.h5")]},
        settings={"alphas": [1.0], "clip_sd": 4.0, "C": 1.0},
        outputs=outputs,
        log=lambda _: None,
    )
    excluded = pd.read_csv(outputs.excluded, sep="\t")
    assert list(excluded["clip_id"]) == [clips[0]] and excluded["reason"].iloc[0] == "egemaps: not computed: too short"
    test = pd.read_csv(outputs.predictions[2])
    assert r2_score(test[[f"{t}_true" for t in TRAITS]], test[[f"{t}_pred" for t in TRAITS]]) > 0.9


def test_train_sklearn_classifies_on_the_functionals_with_a_column_for_every_class(tmp_path):
    rng = np.random.default_rng(2)
    classes = ("calm", "happy", "sad")
    labels = np.concatenate([np.zeros(120, int), rng.integers(1, 3, size=120)])  # calm is most of the clips
    rng.shuffle(labels)
    x = (rng.normal(size=(240, 88)) + 8 * np.eye(3)[labels] @ np.eye(3, 88)).astype(np.float32)
    clips = [f"c{i:03d}" for i in range(240)]
    splits = np.array(["train", "val", "test"])[np.arange(240) % 3]
    rows = pd.DataFrame({"clip_id": clips, "split": splits, "shard": "000", "emotion": np.array(classes)[labels]})
    write_cache(tmp_path / "000.h5", clips, {"functionals": [v[np.newaxis] for v in x]}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    outputs = Outputs(tmp_path)
    task = Task("classification", ("emotion",), classes, metric="weighted_f1", class_weights="balanced")
    caches, settings = {"egemaps": [str(tmp_path / "000.h5")]}, {"alphas": [1.0], "clip_sd": 4.0, "C": 1.0}
    train_sklearn("egemaps_linear", manifest=tmp_path / "manifest.tsv", caches=caches, settings=settings, outputs=outputs, task=task, log=lambda _: None)
    test = pd.read_csv(outputs.predictions[2])
    assert list(test.columns) == ["clip_id", "emotion_true", "emotion_pred", "p_calm", "p_happy", "p_sad"]
    np.testing.assert_allclose(test[["p_calm", "p_happy", "p_sad"]].sum(axis=1), 1.0, atol=1e-5)
    assert (test["emotion_pred"] == test["emotion_true"]).mean() > 0.9


def test_a_functional_far_out_on_one_clip_cannot_throw_the_predictions():
    """One clip 100 sd out on one functional (as mfcc3_sma3_stddevNorm can be): the clip counts as 4 sd."""
    x, y = linear_problem()
    far = x[200:].copy()
    far[0, 7] = x[:200, 7].mean() + 100 * x[:200, 7].std()
    capped = far.copy()
    capped[0, 7] = x[:200, 7].mean() + 4 * x[:200, 7].std()
    pipeline = build("egemaps_linear", classification=False).fit(x[:200], y[:200])
    np.testing.assert_allclose(pipeline.predict(far), pipeline.predict(capped), rtol=0, atol=1e-3)
    assert pipeline[-1].alpha_.shape == (len(TRAITS),)  # a penalty per trait
