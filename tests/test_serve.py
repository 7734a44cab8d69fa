"""The web page's app (bin/serve) through Flask's test client, on a run this module trains itself.

Each answer is checked against what the pipeline computed independently for the same clip: the
shard stages wrote its caches, the train rule's code its predictions_test.csv.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy.stats import percentileofscore

from conftest import make_clip
from impressions import TRAITS
from impressions.data.media import decode_wav, probe, sample_frames
from impressions.io.cache import CacheReader
from impressions.io.wav import read_wav
from impressions.web.answer import FRAMES, Timings
from impressions.web.app import create_app
from impressions.web.features import CLIP_ID, Clip, family_readers
from impressions.web.runs import load_served
from impressions.web.serve import exposed
from served_run import DATASET, EMOTION, EMOTION_DATASET, MODELS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(served_run):
    return served_run


@pytest.fixture(scope="module")
def served(run):
    return load_served(run.configs, run.results)


@pytest.fixture
def app(served, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    return create_app(served, max_upload_mb=1, max_duration_s=10, uploads=uploads)


def post(client, model: str, data: bytes, filename: str = "clip.mp4"):
    return client.post("/predict", data={"model": model, "clip": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_every_trained_model_is_served_and_the_page_lists_them(served, app):
    assert sorted(served) == sorted([*(f"{DATASET}/{name}" for name in MODELS), f"{EMOTION_DATASET}/{MODELS[0]}"])
    page = app.test_client().get("/")
    assert page.status_code == 200
    for name in MODELS:
        assert f'value="{DATASET}/{name}"' in page.get_data(as_text=True)


@pytest.mark.parametrize("name", MODELS)
def test_a_test_clip_gets_the_pipelines_prediction(run, app, name):
    expected = pd.read_csv(run.root / "models" / name / "predictions_test.csv").set_index("clip_id")
    clip_id = expected.index[0]
    response = post(app.test_client(), f"{DATASET}/{name}", Path(run.clips[clip_id]).read_bytes())
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    shown = {score["output"]: score["value"] for score in answer["scores"]}
    for trait in TRAITS:
        assert shown[trait] == pytest.approx(expected.loc[clip_id, f"{trait}_pred"], abs=1e-5)
    assert answer["cam"]["identity_error"] < 1e-4 and [m["output"] for m in answer["cam"]["images"]] == list(TRAITS)
    assert [step["step"] for step in answer["timings"]][-1] == "total"


def test_an_emotion_model_answers_each_class_probability_and_the_most_probable_class(run, app):
    expected = pd.read_csv(run.results / EMOTION_DATASET / "models" / MODELS[0] / "predictions_test.csv").set_index("clip_id")
    clip_id = expected.index[0]
    response = post(app.test_client(), f"{EMOTION_DATASET}/{MODELS[0]}", Path(run.clips[clip_id]).read_bytes())
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    probabilities = {score["output"]: score["probability"] for score in answer["scores"]}
    assert list(probabilities) == list(EMOTION.classes)
    for name in EMOTION.classes:
        assert probabilities[name] == pytest.approx(expected.loc[clip_id, f"p_{name}"], abs=1e-5)
    assert answer["predicted_class"] == expected.loc[clip_id, "emotion_pred"]
    assert [m["output"] for m in answer["cam"]["images"]] == list(EMOTION.classes)


def test_a_video_shows_its_frames_and_a_wav_of_the_same_clip_gets_the_same_scores_without_them(run, app, tmp_path):
    clip = Path(run.clips["test1"])
    video = post(app.test_client(), f"{DATASET}/{MODELS[0]}", clip.read_bytes()).get_json()
    frames = sample_frames(clip, duration_s=6.0, fps=10.0, **FRAMES)
    assert len(video["frames"]) == len(frames)
    shown = matplotlib.image.imread(io.BytesIO(base64.b64decode(video["frames"][2].split(",", 1)[1])), format="png")
    np.testing.assert_array_equal(np.round(shown[..., :3] * 255).astype(np.uint8), frames[2])
    wav = tmp_path / "clip.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-vn", "-ac", "1", "-ar", "22050", "-c:a", "pcm_s16le", str(wav)], check=True)
    audio = post(app.test_client(), f"{DATASET}/{MODELS[0]}", wav.read_bytes(), "clip.wav").get_json()
    assert "error" not in audio, audio
    assert audio["frames"] == [] and not audio["clip"]["has_video"]
    for heard, seen in zip(audio["scores"], video["scores"]):
        assert heard["value"] == pytest.approx(seen["value"], abs=1e-3)


def test_percentiles_are_against_the_training_labels(run, app):
    clip_id = run.manifest.query("split == 'test'")["clip_id"].iloc[0]
    answer = post(app.test_client(), f"{DATASET}/{MODELS[0]}", Path(run.clips[clip_id]).read_bytes()).get_json()
    train = run.manifest.query("split == 'train'")
    for score in answer["scores"]:
        labels = train[score["output"]].to_numpy()
        assert score["percentile"] == pytest.approx(percentileofscore(labels, score["value"], kind="weak"))
        assert score["train_quantiles"][0] == pytest.approx(labels.min(), abs=1e-4)
        assert score["train_quantiles"][-1] == pytest.approx(labels.max(), abs=1e-4)


CACHED = {"spectrogram": ("clip_spectrogram", "summary_spectrogram", "n_real_seconds"), "rawwave": ("rawwave_fft", "n_real_frames")}


@pytest.mark.parametrize("family,names", sorted(CACHED.items()))
def test_the_page_computes_the_arrays_the_shard_caches_hold(run, served, tmp_path, family, names):
    model = next(m for m in served.values() if family in m.params)
    clip_id = "val1"
    decode_wav(run.clips[clip_id], tmp_path / "clip.wav")
    waveform, rate = read_wav(tmp_path / "clip.wav")
    clip = Clip(waveform, rate, run.clips[clip_id], 6.0, 10.0, True)
    (reader,) = family_readers(clip, {family: model.params[family]}, None, Timings()).values()
    with CacheReader(run.root / "features" / family / "000.h5") as cache:
        for name in names:
            np.testing.assert_array_equal(reader.get(name, CLIP_ID), cache.get(name, clip_id))


def uploads_left(app) -> list[Path]:
    return list(Path(app.config["UPLOADS"]).iterdir())


def test_an_upload_over_the_limit_is_413_with_a_message(app):
    response = post(app.test_client(), f"{DATASET}/{MODELS[0]}", b"\0" * (2 * 2**20))
    assert response.status_code == 413
    assert "larger than the limit of 1 MB" in response.get_json()["error"]
    assert uploads_left(app) == []


@pytest.mark.parametrize(
    "content,filename,status,message",
    [
        (b"just some text, not a video\n" * 10, "notes.mp4", 415, "not a media file"),
        (b"", "empty.mp4", 400, "the file is empty"),
        (b"root:x:0:0:root:/root:/bin/bash\n", "../../etc/passwd", 415, "not a media file"),
    ],
)
def test_a_bad_upload_gets_a_4xx_and_a_message_never_a_traceback(app, content, filename, status, message):
    response = post(app.test_client(), f"{DATASET}/{MODELS[0]}", content, filename)
    assert response.status_code == status
    assert message in response.get_json()["error"] and "Traceback" not in response.get_data(as_text=True)
    assert uploads_left(app) == []


@pytest.mark.parametrize("seconds,audio,message", [(6.0, False, "no audio stream"), (3.0, True, "too short"), (12.0, True, "too long")])
def test_a_clip_without_audio_too_short_or_too_long_is_422(app, tmp_path, seconds, audio, message):
    clip = make_clip(tmp_path / "clip.mp4", seconds=seconds, audio=audio)
    response = post(app.test_client(), f"{DATASET}/{MODELS[0]}", clip.read_bytes())
    assert response.status_code == 422 and message in response.get_json()["error"]
    assert uploads_left(app) == []


def webm_without_duration(path: Path, seconds: float) -> Path:
    """Opus in WebM written to a pipe, so the container says no duration (as a browser's recording)."""
    command = [
        "ffmpeg",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=300:sample_rate=48000:duration={seconds}",
        "-c:a",
        "libopus",
        "-f",
        "webm",
        "pipe:1",
    ]
    path.write_bytes(subprocess.run(command, check=True, capture_output=True).stdout)
    return path


@pytest.mark.parametrize("seconds,status", [(6.0, 200), (3.0, 422), (12.0, 422)])
def test_a_recording_that_says_no_duration_has_its_length_checked_once_decoded(app, tmp_path, seconds, status):
    clip = webm_without_duration(tmp_path / "recording.webm", seconds)
    assert probe(clip).audio_duration_s == 0
    response = post(app.test_client(), f"{DATASET}/{MODELS[0]}", clip.read_bytes(), "recording.webm")
    assert response.status_code == status, response.get_json()
    if status == 200:
        assert response.get_json()["clip"]["audio_duration_s"] == pytest.approx(seconds, abs=0.05)
    else:
        assert ("too short" if seconds < 5 else "too long") in response.get_json()["error"]
    assert uploads_left(app) == []


def test_a_traversal_file_name_names_no_file_and_an_unknown_model_is_refused(run, app):
    clip = Path(run.clips["test0"]).read_bytes()
    response = post(app.test_client(), f"{DATASET}/{MODELS[0]}", clip, "../../etc/passwd")
    assert response.status_code == 200 and uploads_left(app) == []
    refused = post(app.test_client(), "../../etc/passwd", clip)
    assert refused.status_code == 400 and "unknown model" in refused.get_json()["error"]


def test_eight_uploads_at_once_each_get_their_own_answer(run, app):
    expected = pd.read_csv(run.root / "models" / MODELS[0] / "predictions_train.csv").set_index("clip_id")
    clip_ids = list(expected.index[:4]) * 2

    def ask(clip_id):
        response = post(app.test_client(), f"{DATASET}/{MODELS[0]}", Path(run.clips[clip_id]).read_bytes())
        return clip_id, response.status_code, response.get_json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, clip_ids))
    for clip_id, status, answer in answers:
        assert status == 200
        shown = {score["output"]: score["value"] for score in answer["scores"]}
        assert shown["openness"] == pytest.approx(expected.loc[clip_id, "openness_pred"], abs=1e-5)
    assert uploads_left(app) == []


def test_the_untrained_vggish_warning_is_shown_when_the_run_used_it(served, run, app, tmp_path):
    """This run has no VGGish cache: nothing to warn about; a cache of the untrained network warns."""
    model = served[f"{DATASET}/{MODELS[0]}"]
    answer = post(app.test_client(), model.key, Path(run.clips["test0"]).read_bytes()).get_json()
    assert answer["weights"]["warning"] == ""
    untrained = {"source": "untrained", "pretrained": False, "description": "UNTRAINED VGGish (seed 0): random weights, no pretrained model"}
    model.embedder = untrained
    try:
        warned = post(app.test_client(), model.key, Path(run.clips["test0"]).read_bytes()).get_json()
    finally:
        model.embedder = {}
    assert "VGGish ran WITHOUT pretrained weights" in warned["weights"]["warning"]
    assert f"{MODELS[0]} does not read them" in warned["weights"]["warning"]


def test_a_model_without_its_files_is_left_out_with_the_reason(run, caplog):
    config = {**run.config, "models": {**run.config["models"], "enabled": [*MODELS, "clip_cnn", "knn"]}}
    with caplog.at_level(logging.INFO, logger="impressions.web"):
        served = load_served([config], run.results)
    assert sorted(served) == sorted(f"{DATASET}/{name}" for name in MODELS)
    assert "not served: served/clip_cnn, not trained yet" in caplog.text
    assert "not served: served/knn, a sklearn model" in caplog.text


def test_bin_serve_refuses_a_bad_config_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("serve: {max_upload_mb: -1}\n")
    result = subprocess.run(
        [sys.executable, "-m", "impressions.web", "--configfile", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"]},
    )
    assert result.returncode == 1
    assert "the config is not valid" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "host,warned", [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True), ("192.168.1.5", True), ("my-host", True)]
)
def test_only_loopback_addresses_listen_without_a_warning(host, warned):
    assert exposed(host) is warned
