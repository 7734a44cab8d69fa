"""The audio-table generator: clips/ with wav and mp3 files, train.csv and an unlabelled test.csv, audio as planned, a signal, byte-identical runs."""

import hashlib
import json

import ffmpeg
import numpy as np
import pandas as pd
import pytest

from impressions.data import synthetic_table as st
from planted import median_pitch

TINY = {"seed": 4, "n_files": {"train": 16, "test": 4}}
RATE = 16000
CODECS = {"wav": "pcm_s16le", "mp3": "mp3"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("table") / "raw"
    st.generate(root, TINY, threads=2, log=lambda _: None)
    return root


@pytest.fixture(scope="module")
def files():
    return st.plan(TINY)


def digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def decode(path, channels):
    """The file's audio at 16 kHz, its channels averaged (ffmpeg's own downmix would add 3 dB to stereo)."""
    out, _ = ffmpeg.input(str(path)).output("pipe:", format="f32le", ar=RATE, ac=channels).run(capture_stdout=True, quiet=True)
    return np.frombuffer(out, np.float32).reshape(-1, channels).mean(axis=1).astype(np.float64)


def spectral_tilt(signal, f0):
    """-slope/2 of log energy against log k over harmonics 1-4: the exponent of amplitudes k**-tilt."""
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(len(signal), 1 / RATE)
    k = np.arange(1, 5)
    energy = [power[(freqs > (h - 0.5) * f0) & (freqs < (h + 0.5) * f0)].sum() for h in k]
    return -np.polyfit(np.log(k), np.log(energy), 1)[0] / 2


def test_the_layout_is_a_folder_of_files_and_two_tables(dataset, files):
    assert sorted(digests(dataset)) == sorted(st.output_files(TINY))
    assert (dataset / "train.csv").read_bytes().startswith(b"file,emotion\n") and (dataset / "test.csv").read_bytes().startswith(b"file\n")
    train, test = (pd.read_csv(dataset / name, dtype=str) for name in ("train.csv", "test.csv"))
    assert list(train.columns) == ["file", "emotion"] and list(test.columns) == ["file"]
    assert list(train["file"]) == sorted(f.relpath for f in files if f.table == "train.csv")  # name order: a row's place tells no class
    assert list(test["file"]) == sorted(f.relpath for f in files if f.table == "test.csv")
    assert dict(zip(train["file"], train["emotion"])) == {f.relpath: f.emotion for f in files if f.table == "train.csv"}
    assert all(f.split == "" and f.relpath.startswith("clips/") for f in files)
    assert {f.relpath[-3:] for f in files} == {"wav", "mp3"} and {f.channels for f in files} == {1, 2} and len({f.sample_rate for f in files}) > 1


def test_every_file_has_the_planned_format_and_duration(dataset, files):
    for f in files:
        info = ffmpeg.probe(str(dataset / f.relpath))
        (stream,) = info["streams"]
        assert stream["codec_name"] == CODECS[f.relpath[-3:]] and (int(stream["sample_rate"]), stream["channels"]) == (f.sample_rate, f.channels)
        assert abs(float(stream["duration"]) - f.duration_s) < 0.1 and abs(float(info["format"]["duration"]) - f.duration_s) < 0.1, f.relpath


def test_the_audio_shows_the_hidden_values_and_so_the_classes(dataset, files):
    measured = {}
    for f in files:
        signal = decode(dataset / f.relpath, f.channels)
        pitch = median_pitch(signal, RATE)
        measured[f.relpath] = {"pitch": pitch, "loudness": 10 * np.log10(np.mean(signal**2)), "tilt": spectral_tilt(signal, pitch)}
        assert abs(np.log(pitch / f.hidden["pitch"])) < 0.06, f.relpath  # 6%: the autocorrelation estimate reads low pitch a few % low
        assert abs(measured[f.relpath]["loudness"] - f.hidden["loudness"]) < 1.0 and abs(measured[f.relpath]["tilt"] - f.hidden["tilt"]) < 0.05
    for value in ("pitch", "loudness", "tilt"):  # classes with a higher planned mean measure higher
        means = st.HIDDEN[value]["mean"]
        middle = np.median(list(means.values()))
        high = [measured[f.relpath][value] for f in files if means[f.emotion] > middle]
        low = [measured[f.relpath][value] for f in files if means[f.emotion] < middle]
        assert np.mean(high) > np.mean(low), value


def test_ground_truth_names_the_class_of_every_file_the_unlabelled_too(dataset, files):
    truth = json.loads((dataset / "ground_truth.json").read_text())
    assert truth["kind"] == "table" and truth["params"] == TINY and truth["rule"]["classes"] == list(st.CLASSES)
    assert sorted(truth["files"]) == sorted(f.relpath for f in files)
    for f in files:
        entry = truth["files"][f.relpath]
        assert (entry["emotion"], entry["table"], entry["labelled"], entry["clip_id"]) == (f.emotion, f.table, f.table == "train.csv", f.clip_id)
        assert entry["hidden"] == pytest.approx(f.hidden, abs=1e-6)
    assert set(truth["tables"]) == {"train.csv", "test.csv"} and set(truth["tables"]["test.csv"]) == {"baseline", "ceiling"}


def test_two_generations_are_byte_identical_and_stale_files_go(dataset, tmp_path):
    other = tmp_path / "raw"
    (other / "clips").mkdir(parents=True)
    (other / "ground_truth.json").write_text("{}")  # an earlier synthetic dataset, with a file no longer planned and one of the user's
    (other / "clips" / "0123abcd.wav").write_bytes(b"stale")
    (other / "clips" / "readme.txt").write_text("mine")
    st.generate(other, TINY, threads=1, log=lambda _: None)
    assert (other / "clips" / "readme.txt").read_text() == "mine"
    (other / "clips" / "readme.txt").unlink()
    assert digests(other) == digests(dataset)


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "train.csv").write_text("file,emotion\n")
    with pytest.raises(ValueError, match="may be real data"):
        st.generate(tmp_path, TINY, log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]


def test_the_plan_follows_its_rule():
    """On many files: balanced classes, formats as allowed, classes that set the hidden values, a Bayes ceiling well above chance."""
    files = st.plan({**TINY, "n_files": {"train": 2000, "test": 400}})
    assert pd.Series([f.emotion for f in files if f.table == "train.csv"]).value_counts().to_dict() == dict.fromkeys(st.CLASSES, 500)
    for f in files:
        assert f.sample_rate in st.RATES[f.relpath[-3:]] and f.channels in (1, 2) and 2.0 <= f.duration_s <= 6.0
    for emotion in st.CLASSES:
        members = [f for f in files if f.emotion == emotion]
        assert np.mean([f.hidden["tilt"] for f in members]) == pytest.approx(st.HIDDEN["tilt"]["mean"][emotion], abs=0.03)
    metrics = st.reference_metrics(files)
    assert metrics["test.csv"]["baseline"]["accuracy"] == 0.25 and 0.75 < metrics["test.csv"]["ceiling"]["accuracy"] < 0.9


def test_growing_a_table_changes_no_earlier_file():
    small, grown = st.plan(TINY), st.plan({**TINY, "n_files": {"train": 30, "test": 9}})
    for table in ("train.csv", "test.csv"):
        before = [f for f in small if f.table == table]
        assert [f for f in grown if f.table == table][: len(before)] == before


@pytest.mark.parametrize(
    "params, message",
    [
        ({**TINY, "n_files": {"train": 0, "test": 2}}, r"n_files=.* must map each of \['train', 'test'\] to an integer >= 1"),
        ({**TINY, "seed": "x"}, "seed='x' must be an integer >= 0"),
        ({"seed": 1}, r"lack \['n_files'\]"),
    ],
)
def test_bad_params_are_refused_with_the_value_and_what_is_allowed(params, message):
    with pytest.raises(ValueError, match=message):
        st.plan(params)
