"""End to end: the whole workflow on the tiny config, in a temporary folder."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib import pyplot as plt

from conftest import TINY, snakemake_tiny
from impressions import SPLITS, TRAITS
from impressions.data import synthetic as synth
from impressions.data.clips import read_manifest, shard_of
from impressions.io.cache import CacheReader
from workflow_rules import REPO

N_SHARDS = TINY["dataset"]["n_shards"]


@pytest.fixture(scope="module")
def run(tiny_run) -> Path:
    return tiny_run.results


@pytest.fixture(scope="module")
def planned():
    params = {**synth_defaults(), **TINY["synthetic"]}
    return synth.plan(params)


def synth_defaults():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    return {key: spec["default"] for key, spec in schema["properties"]["synthetic"]["properties"].items()}


def test_every_clip_is_in_the_manifest_or_excluded_with_a_reason(run, planned):
    sheet = read_manifest(run / "clips.tsv")
    manifest = read_manifest(run / "manifest.tsv")
    excluded = read_manifest(run / "excluded.tsv")
    assert sorted(sheet["clip_id"]) == sorted(p.clip_id for p in planned)  # every generated clip is labelled
    assert list(sheet.columns[:3]) == ["clip_id", "split", "path"]
    assert sheet.set_index("clip_id").loc[manifest["clip_id"], "split"].tolist() == list(manifest["split"])
    assert len(manifest) + len(excluded) == len(planned)
    assert set(manifest["clip_id"]) | set(excluded["clip_id"]) == {p.clip_id for p in planned}
    assert set(manifest["clip_id"]).isdisjoint(excluded["clip_id"]) and set(excluded["stage"]) == {"probe"}
    reasons = " ".join(excluded["reason"])
    assert "no audio stream" in reasons and "too short" in reasons
    assert len(excluded) == TINY["synthetic"]["n_short"] + TINY["synthetic"]["n_silent"]
    assert dict(manifest.groupby("split").size()) == {s: TINY["synthetic"]["n_clips"][s] for s in SPLITS}
    assert (manifest["audio_rate"] == 44100).all() and (manifest["duration_s"] >= 5).all()
    assert manifest[list(TRAITS)].stack().between(0, 1).all()
    assert all(shard_of(c, N_SHARDS) == s for c, s in zip(manifest["clip_id"], manifest["shard"]))


def test_caches_hold_each_shards_clips_with_documented_shapes(run):
    manifest = read_manifest(run / "manifest.tsv")
    frames = TINY["frames"]
    for shard in (f"{i:03d}" for i in range(N_SHARDS)):
        expected = sorted(manifest.loc[manifest["shard"] == shard, "clip_id"])
        families = ("logmel", "mfcc", "spectrogram", "rawwave", "egemaps", "frames", "vggish", "aligned")
        caches = {family: CacheReader(run / "features" / family / f"{shard}.h5") for family in families}
        try:
            assert all(sorted(cache.clip_ids) == expected for cache in caches.values())
            logmel, mfccs, spectrogram, rawwave, egemaps, video, vggish, on_one_clock = caches.values()
            assert on_one_clock.params["max_steps"] == 67 and on_one_clock.params["text"] is None  # 16 s of 0.24 s steps; no text here
            assert mfccs.params["n_mfcc"] == 24 and logmel.params["vggish_front_end"]["n_mels"] == 64
            assert len(egemaps.params["feature_names"]) == 88
            assert vggish.params["embedder"]["pretrained"] is False
            for clip in expected:
                examples = logmel.get("vggish_examples", clip)
                assert examples.shape == (6, 96, 64) and examples.dtype == np.float32  # 6 s -> 6 examples
                mfcc = mfccs.get("mfcc", clip)
                assert mfcc.shape[1] == 24 and mfcc.shape[0] > 150 and mfcc.dtype == np.float32
                assert mfccs.get("log_mel_db", clip).shape == (len(mfcc), 128)
                assert spectrogram.get("clip_spectrogram", clip).shape == (5, 96, 64)
                assert spectrogram.get("summary_spectrogram", clip).shape == (80, 64)
                assert rawwave.get("rawwave_fft", clip).shape == (155, 129)
                functionals = egemaps.get("functionals", clip)
                assert functionals.shape == (1, 88) and functionals.dtype == np.float32 and np.isfinite(functionals).all()
                assert video.get("frames", clip).shape == (frames["per_clip"], frames["height"], frames["width"], 3)
                assert video.get("frames", clip).dtype == np.uint8
                embeddings = vggish.get("embeddings", clip)
                assert embeddings.shape == (6, 128) and embeddings.dtype == np.float32
                assert np.isfinite(embeddings).all() and embeddings.std() > 0
                assert on_one_clock.get("mask", clip).tolist() == [1] * 25 + [0] * 42  # 6 s: 25 steps start inside
                assert on_one_clock.get("audio", clip).shape == (67, 64) and on_one_clock.get("video", clip).shape == (67, 36, 64, 3)
        finally:
            for cache in caches.values():
                cache.close()


def test_wav_stage_is_16k_mono(run):
    import soundfile as sf

    wavs = sorted((run / "wav").glob("*/*.wav"))
    assert len(wavs) == len(read_manifest(run / "manifest.tsv"))
    info = sf.info(str(wavs[0]))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_mfcc_length_is_the_train_mean_frame_count(run):
    length = json.loads((run / "features" / "mfcc_length.json").read_text())
    assert length["frames"] == 188 and length["from_split"] == "train"  # 6 s clips: 1 + 96000 // 512


TRAINED = [
    *("vggish_head", "clip_cnn", "clip_cam_cnn", "summary_cnn", "summary_cam_cnn", "rawwav_cam_cnn", "fusion", "aligned_gru", "crossmodal_attention"),
    *("knn", "egemaps_linear", "video_linear", "audiovisual_linear"),
]
SKLEARN_MODELS = {"knn", "egemaps_linear", "video_linear", "audiovisual_linear"}
MODELS = [*TRAINED, "ensemble"]
KERAS = [m for m in TRAINED if m not in SKLEARN_MODELS]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_and_writes_its_outputs(run, model):
    manifest = read_manifest(run / "manifest.tsv")
    model_dir = run / "models" / model
    if model in SKLEARN_MODELS:
        assert (model_dir / "model.pkl").stat().st_size > 0
    elif model == "ensemble":
        stack = json.loads((model_dir / "ensemble.json").read_text())
        assert stack["members"] == TRAINED and stack["method"] == "average"  # 4 validation clips: too few to stack on
    else:
        assert (model_dir / "model.keras").stat().st_size > 0
        history = pd.read_csv(model_dir / "history.csv")
        assert {"loss", "val_loss", "one_minus_mae", "val_one_minus_mae"} <= set(history.columns)
        assert len(history) == TINY["models"][model]["max_epochs"]
    for split in SPLITS:
        predictions = pd.read_csv(model_dir / f"predictions_{split}.csv")
        assert sorted(predictions["clip_id"]) == sorted(manifest.loc[manifest["split"] == split, "clip_id"])
        assert np.isfinite(predictions[[f"{t}_pred" for t in TRAITS]].to_numpy()).all()
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["model"] == model and set(metrics["splits"]) == set(SPLITS)
    assert 0 < metrics["splits"]["test"]["model"]["mean"]["pred_std"] < 1


def test_sigmoid_models_predict_in_the_unit_interval_and_metrics_use_the_train_mean(run):
    manifest = read_manifest(run / "manifest.tsv")
    model_dir = run / "models" / "vggish_head"
    for split in SPLITS:
        predictions = pd.read_csv(model_dir / f"predictions_{split}.csv")
        assert predictions[[f"{t}_pred" for t in TRAITS]].stack().between(0, 1).all()
    metrics = json.loads((model_dir / "metrics.json").read_text())
    train_means = manifest.loc[manifest["split"] == "train", list(TRAITS)].mean()
    for trait in TRAITS:
        assert metrics["train_means"][trait] == pytest.approx(train_means[trait], abs=1e-5)
    for split in SPLITS:
        for who in ("model", "baseline"):
            assert 0.5 < metrics["splits"][split][who]["mean"]["one_minus_mae"] <= 1.0


CAM_INPUTS = {
    "clip_cam_cnn": ("spectrogram", "clip_spectrogram"),
    "summary_cam_cnn": ("spectrogram", "summary_spectrogram"),
    "rawwav_cam_cnn": ("rawwave", "rawwave_fft"),
}


@pytest.mark.parametrize("model", sorted(CAM_INPUTS))
def test_trained_cam_models_satisfy_the_cam_identity_on_cached_inputs(run, model):
    """Mean CAM + bias = the model's output, from the trained model and the cache, independently of cams.h5's code."""
    import h5py
    import keras

    from impressions.cam.stage import IDENTITY_TOLERANCE

    trained = keras.saving.load_model(run / "models" / model / "model.keras", compile=False)
    tolerance = IDENTITY_TOLERANCE[trained.get_layer("outputs").dtype_policy.compute_dtype]  # float16 if trained on a GPU
    maps_and_output = keras.Model(trained.inputs, [trained.get_layer("gap").input, trained.output])
    kernel, bias = trained.get_layer("outputs").get_weights()
    manifest = read_manifest(run / "manifest.tsv").set_index("clip_id")
    family, feature = CAM_INPUTS[model]
    with h5py.File(run / "cam" / model / "cams.h5", "r") as h5:
        test_clips = set(manifest.index[manifest["split"] == "test"])
        for trait in TRAITS:
            ranked = list(h5[trait].attrs["clips"])
            assert len(ranked) == len(set(ranked)) == min(20, len(test_clips)) and set(ranked) <= test_clips
            predictions = [h5[trait][clip].attrs["prediction"] for clip in ranked]
            assert predictions == sorted(predictions, reverse=True)
        clip = h5["neuroticism"].attrs["clips"][0]
        stored = h5["neuroticism"][clip]
        with CacheReader(run / "features" / family / f"{manifest.loc[clip, 'shard']}.h5") as cache:
            x = cache.get(feature, clip)
            x = x[: int(cache.get("n_real_seconds", clip)[0])] if model == "clip_cam_cnn" else x[np.newaxis]
        features, outputs = (np.asarray(a, np.float64) for a in maps_and_output([x], training=False))
        cams = np.einsum("...k,kt->...t", features, kernel.astype(np.float64))
        space = tuple(range(1, cams.ndim - 1))
        np.testing.assert_allclose(cams.mean(axis=space) + bias, outputs, atol=tolerance)
        t = TRAITS.index("neuroticism")
        np.testing.assert_allclose(stored["cam_small"][...], cams[..., t], atol=tolerance)
        assert stored.attrs["model_output"] == pytest.approx(outputs[:, t].mean(), abs=tolerance)
        assert stored["cam"].shape == stored["input"].shape[: stored["cam"].ndim]
        assert json.loads(h5.attrs["params"])["identity_max_abs_error"] < tolerance
    localisation = json.loads((run / "cam" / model / "localisation.json").read_text())
    assert localisation["hidden_band"]["trait"] == "neuroticism" and set(localisation["traits"]) == set(TRAITS)
    for trait in TRAITS:
        image = plt.imread(run / "cam" / model / "galleries" / f"{trait}.png")
        assert image.shape[0] > 300 and image.shape[1] > 1000


def test_summary_flags_the_untrained_vggish_and_lists_exclusions(run):
    text = (run / "summary.md").read_text()
    assert "WITHOUT pretrained weights" in text
    assert "noise ceiling" in text and "train-mean baseline" in text
    assert all(f"| {model} |" in text for model in MODELS)
    for clip_id in read_manifest(run / "excluded.tsv")["clip_id"]:
        assert clip_id in text


def figures(run: Path) -> list[Path]:
    """Every figure the run should draw."""
    return [
        run / "plots" / "trait_distributions.png",
        run / "plots" / "sample_clips.png",
        *(run / "plots" / m / "training_curves.png" for m in KERAS),
        *(run / "plots" / m / "predicted_vs_true.png" for m in MODELS),
        *(run / "cam" / m / "profiles.png" for m in CAM_INPUTS),
        *(run / "cam" / m / "galleries" / f"{t}.png" for m in CAM_INPUTS for t in TRAITS),
        *(run / "attention" / m / "galleries" / f"{t}.png" for m in SEQUENCE for t in TRAITS),
    ]


SEQUENCE = ["aligned_gru", "crossmodal_attention"]


@pytest.mark.parametrize("model", SEQUENCE)
def test_the_attention_stage_gives_each_traits_top_clips_a_peak_inside_the_clip(run, model):
    manifest = read_manifest(run / "manifest.tsv").set_index("clip_id")
    result = json.loads((run / "attention" / model / "attention.json").read_text())
    assert result["model"] == model and result["splits"] == ["test"] and sorted(result["outputs"]) == sorted(TRAITS)
    test = pd.read_csv(run / "models" / model / "predictions_test.csv")
    for trait, found in result["outputs"].items():
        ranked = test.sort_values([f"{trait}_pred", "clip_id"], ascending=[False, True])["clip_id"].tolist()
        assert [c["clip_id"] for c in found["clips"]] == ranked[: len(found["clips"])]  # best first, as the CAM galleries
        assert all(0 <= c["peak_s"] <= manifest.loc[c["clip_id"], "duration_s"] + 0.24 for c in found["clips"])
        assert found["planted"] == 0 and found["share"] is None  # no planted moments in the First Impressions layout
    assert "## Attention over time" in (run / "summary.md").read_text()


def test_comparison_table_has_every_model_and_yardstick_with_the_metrics_files_figures(run):
    table = pd.read_csv(run / "summary.tsv", sep="\t")
    assert set(table["split"]) == set(SPLITS)
    test = table[table["split"] == "test"].set_index("model")
    assert set(test.index) == {*MODELS, "train-mean baseline", "noise ceiling (ground truth)"}
    for model in MODELS:
        metrics = json.loads((run / "models" / model / "metrics.json").read_text())["splits"]["test"]
        assert test.loc[model, "neuroticism_1mae"] == pytest.approx(metrics["model"]["neuroticism"]["one_minus_mae"], abs=1e-5)
        assert test.loc[model, "mean_r2"] == pytest.approx(metrics["model"]["mean"]["r2"], abs=1e-5)
        assert test.loc["noise ceiling (ground truth)", "mean_1mae"] == pytest.approx(metrics["ceiling"]["mean"]["one_minus_mae"], abs=1e-5)
    assert (test.loc["noise ceiling (ground truth)", "mean_1mae"] > test["mean_1mae"].drop("noise ceiling (ground truth)")).all()


def test_summary_html_embeds_every_figure(run):
    import base64

    text = (run / "summary.html").read_text()
    for figure in (
        run / "plots" / "sample_clips.png",
        run / "plots" / "fusion" / "predicted_vs_true.png",
        run / "cam" / "summary_cam_cnn" / "galleries" / "neuroticism.png",
    ):
        assert base64.b64encode(figure.read_bytes()).decode() in text, figure
    assert "src='plots/" not in text and "src='cam/" not in text


def test_snakemake_report_holds_every_figure_and_table(run):
    import base64

    report = run.parent / "report.html"
    result = snakemake_tiny(run.parent.parent, "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    text = report.read_text()
    for path in [*figures(run), run / "summary.tsv", run / "summary_tables.html"]:
        assert str(path.relative_to(run.parent.parent)) in text, path
    assert base64.b64encode((run / "plots" / "trait_distributions.png").read_bytes()).decode() in text
    for category in ("0. Comparison", "1. Data", "2. Training", "3. Predictions", "4. CAM maps"):
        assert category in text


def test_second_run_has_nothing_to_do(run):
    result = snakemake_tiny(run.parent.parent, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


def test_changing_one_clip_reruns_only_its_shard(run, planned):
    clip = next(p for p in planned if p.split == "train" and p.has_audio and p.duration_s >= 5)
    (run / "raw" / clip.relpath).touch()
    result = snakemake_tiny(run.parent.parent, "-n")
    output = result.stdout + result.stderr
    shard_jobs = {line.split("shard=")[1].strip() for line in output.splitlines() if "shard=" in line}
    assert shard_jobs == {shard_of(clip.clip_id, N_SHARDS)}
    for rule in ("probe", "wav", "logmel", "mfcc", "spectrograms", "rawwave", "egemaps", "frames", "embed", "manifest", "train", "train_sklearn", "summary"):
        assert f"rule {rule}:" in output, rule
    assert "rule synthesize_" not in output


def test_same_inputs_give_the_same_caches(run):
    caches = sorted((run / "features").glob("*/*.h5"))
    before = {path: path.read_bytes() for path in caches}
    stages = ["logmel", "mfcc", "spectrograms", "rawwave", "egemaps", "frames", "embed"]
    targets = [str(path.relative_to(run.parent.parent)) for path in caches]
    result = snakemake_tiny(run.parent.parent, "--forcerun", *stages, "--", *targets)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(path.read_bytes() == content for path, content in before.items())
