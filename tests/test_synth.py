"""The synthetic dataset: real ChaLearn layout, media that follow the hidden factors, a known answer."""

import colorsys
import functools
import json
import pickle
import re

import ffmpeg
import numpy as np
import pytest

from impressions import LABELS, TRAITS
from impressions.data import ground_truth as gt
from impressions.data import synthetic as synth
from impressions.data.ground_truth import bayes_predictions

TINY = {
    "seed": 7,
    "n_clips": {"train": 4, "val": 2, "test": 2},
    "duration_s": 6.0,
    "n_short": 1,
    "n_silent": 1,
    "width": 160,
    "height": 90,
    "fps": 10,
    "signal_r2": 0.8,
}
CLIP_FILE = re.compile(r"^[A-Za-z0-9_-]{11}\.\d{3}\.mp4$")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The tiny dataset, generated once, and the progress lines it logged."""
    root = tmp_path_factory.mktemp("synth") / "raw"
    lines = []
    synth.generate(root, TINY, threads=2, log=lines.append)
    return root, lines


@pytest.fixture(scope="module")
def clips():
    return synth.plan(TINY)


def files_under(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


RATE = 44100


@functools.lru_cache(maxsize=None)
def decode_audio(path):
    """The clip's audio, decoded from the mp4, as float32 [shape=(n, 2)] at 44.1 kHz."""
    out, _ = ffmpeg.input(str(path)).output("pipe:", format="f32le", ac=2, ar=RATE).run(capture_stdout=True, quiet=True)
    return np.frombuffer(out, np.float32).reshape(-1, 2)


def decode_frames(path, width, height):
    """Every frame of the clip as float RGB [shape=(n, height, width, 3)]."""
    out, _ = ffmpeg.input(str(path)).output("pipe:", format="rawvideo", pix_fmt="rgb24").run(capture_stdout=True, quiet=True)
    return np.frombuffer(out, np.uint8).reshape(-1, height, width, 3).astype(float)


def band_db(signal, start_s, end_s, low_hz, high_hz):
    """RMS level (dBFS) of the part of `signal` between two frequencies, during a stretch of time."""
    piece = signal[int(start_s * RATE) : int(end_s * RATE)]
    power = 2 * np.abs(np.fft.rfft(piece)) ** 2 / len(piece) ** 2  # one-sided: twice each bin
    freqs = np.fft.rfftfreq(len(piece), 1 / RATE)
    return 10 * np.log10(power[(freqs >= low_hz) & (freqs <= high_hz)].sum() + 1e-20)


def test_clips_are_named_like_chalearn_and_sit_in_their_split_folder(dataset, clips):
    root, _ = dataset
    for clip in clips:
        folder, name = clip.relpath.split("/")
        assert CLIP_FILE.match(name), name
        assert name == f"{clip.clip_id}.mp4"
        assert folder == synth.SPLIT_FOLDERS[clip.split]
        assert (root / clip.relpath).is_file()
    assert len({clip.clip_id for clip in clips}) == len(clips) == 10


def test_output_files_are_exactly_what_generate_writes(dataset):
    root, _ = dataset
    assert files_under(root) == set(synth.output_files(TINY))
    assert len(synth.output_files(TINY)) == 10 + 3 + 1


def test_generate_logs_progress_per_clip(dataset):
    _, lines = dataset
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) == 10
    assert any(line.startswith("[10/10] ") and line.endswith(" s") for line in progress)


def test_extras_are_short_or_silent_and_labelled(clips):
    short = [c for c in clips if c.kind == "short"]
    silent = [c for c in clips if c.kind == "silent"]
    assert [c.split for c in short] == ["train"] and [c.split for c in silent] == ["train"]
    assert all(2.5 <= c.duration_s <= 4.5 and c.has_audio for c in short)
    assert not silent[0].has_audio and silent[0].duration_s == TINY["duration_s"]
    more = synth.plan({**TINY, "n_short": 3})
    assert [c.split for c in more if c.kind == "short"] == ["train", "train", "test"]
    assert all(set(c.labels) == set(LABELS) for c in clips)


def test_streams_codecs_and_durations_follow_the_plan(dataset, clips):
    root, _ = dataset
    for clip in clips:
        info = ffmpeg.probe(str(root / clip.relpath))
        streams = {s["codec_type"]: s for s in info["streams"]}
        video = streams["video"]
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
        assert (video["width"], video["height"], video["r_frame_rate"]) == (160, 90, "10/1")
        assert float(info["format"]["duration"]) == pytest.approx(clip.duration_s, abs=0.2)
        if clip.has_audio:
            audio = streams["audio"]
            assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "44100", 2)
        else:
            assert "audio" not in streams


def test_annotations_are_chalearn_tables_in_protocol_2_pickles(dataset, clips):
    """Python 3's protocol 2 (unicode strings, unlike ChaLearn's Python 2 byte strings: those are
    tested on `planted.py2_pickle` bytes in tests/test_planted.py and tests/test_kinds.py)."""
    root, _ = dataset
    for split, name in synth.ANNOTATION_FILES.items():
        with open(root / name, "rb") as f:
            table = pickle.load(f, encoding="latin1")
        assert type(table) is dict and set(table) == set(LABELS)
        expected = {f"{c.clip_id}.mp4": c.labels for c in clips if c.split == split}
        for label, scores in table.items():
            assert type(scores) is dict and set(scores) == set(expected)
            for name_, score in scores.items():
                assert type(name_) is str and type(score) is float and 0.0 <= score <= 1.0
                assert score == expected[name_][label]


def test_plan_is_deterministic_and_prefix_stable():
    small = synth.plan(TINY)
    assert small == synth.plan(TINY)
    big = synth.plan({**TINY, "n_clips": {"train": 9, "val": 5, "test": 2}, "n_short": 3, "n_silent": 2})
    by_id = {c.clip_id: c for c in big}
    for clip in small:
        assert by_id[clip.clip_id] == clip
    assert not {c.clip_id for c in small} & {c.clip_id for c in synth.plan({**TINY, "seed": 8})}


def test_scores_have_the_promised_statistics_and_structure():
    """5,000 clips per split, planned only: mean, sd, baseline and ceiling as the design says."""
    params = {**TINY, "n_clips": {"train": 5000, "val": 1, "test": 5000}, "n_short": 0, "n_silent": 0}
    clips = synth.plan(params)
    train = [c for c in clips if c.split == "train"]
    for label in LABELS:
        values = np.array([c.labels[label] for c in train])
        assert values.mean() == pytest.approx(0.5, abs=0.01)
        assert values.std() == pytest.approx(0.15, abs=0.01)
    test = synth.reference_metrics(clips, params["signal_r2"])["test"]
    assert test["mean"]["baseline_1mae"] == pytest.approx(0.88, abs=0.02)
    assert test["mean"]["ceiling_1mae"] == pytest.approx(0.945, abs=0.01)
    for label in (*LABELS, "mean"):
        assert test[label]["ceiling_1mae"] - test[label]["baseline_1mae"] > 0.04
    neuroticism = np.array([c.labels["neuroticism"] for c in train])
    factor = {f: np.array([c.factors[f] for c in train]) for f in gt.FACTOR_NAMES}
    assert np.corrcoef(neuroticism, factor["band_energy"])[0, 1] > 0.5
    assert abs(np.corrcoef(neuroticism, factor["brightness"])[0, 1]) < 0.05


def test_hidden_band_carries_band_energy_during_the_burst(dataset, clips):
    root, _ = dataset
    band = gt.HIDDEN_BAND
    voiced = [c for c in clips if c.has_audio and c.kind == "regular"]
    high = max(voiced, key=lambda c: c.factors["band_energy"])
    low = min(voiced, key=lambda c: c.factors["band_energy"])
    assert high.factors["band_energy"] - low.factors["band_energy"] > 1.0

    def measured(clip, start_s, end_s):
        left = decode_audio(str(root / clip.relpath))[:, 0]
        return band_db(left, start_s, end_s, band["low_hz"], band["high_hz"])

    burst = (band["start_s"] + 0.2, band["end_s"] - 0.2)
    level = {c.clip_id: gt.media_values(c.factors)["band_energy"] for c in voiced}
    assert measured(high, *burst) > measured(low, *burst) + 0.5 * (level[high.clip_id] - level[low.clip_id])
    assert measured(high, *burst) > measured(high, band["end_s"] + 0.3, TINY["duration_s"] - 0.3) + 15
    for clip in voiced:  # the band's power during the burst is the planned RMS level
        assert measured(clip, *burst) == pytest.approx(level[clip.clip_id], abs=1)


def strongest(signal, low_hz, high_hz):
    """Frequency of the spectral peak of `signal` between two frequencies."""
    spectrum = np.abs(np.fft.rfft(signal - signal.mean()))
    freqs = np.fft.rfftfreq(len(signal), 1 / RATE)
    inside = (freqs > low_hz) & (freqs < high_hz)
    return freqs[inside][np.argmax(spectrum[inside])]


def test_voice_follows_pitch_loudness_and_syllable_rate_and_channels_differ(dataset, clips):
    root, _ = dataset
    for clip in (c for c in clips if c.has_audio):
        media = gt.media_values(clip.factors)
        stereo = decode_audio(str(root / clip.relpath))
        left = stereo[:, 0]
        assert strongest(left, 40, 320) == pytest.approx(media["pitch"], rel=0.05)
        assert strongest(left**2, 1, 10) == pytest.approx(media["syllable_rate"], rel=0.1)
        below_hidden_band = band_db(left, 0, clip.duration_s, 20, gt.HIDDEN_BAND["low_hz"] - 100)
        assert below_hidden_band == pytest.approx(media["loudness"], abs=1)
        left, right = np.sqrt((stereo**2).mean(axis=0))
        assert not np.array_equal(stereo[:, 0], stereo[:, 1])
        assert 20 * np.log10(left / right) == pytest.approx(0.5, abs=0.2)


def test_video_follows_brightness_hue_and_motion(dataset, clips):
    root, _ = dataset
    measured = []
    for clip in clips:
        frames = decode_frames(root / clip.relpath, TINY["width"], TINY["height"])
        media = gt.media_values(clip.factors)
        background = frames[0, :20, :20].mean()
        assert background == pytest.approx(media["brightness"], abs=3)
        measured.append(background)
        face = frames[0, 40:50, 75:85].reshape(-1, 3).mean(axis=0) / 255  # the centre, at t = 0
        assert 360 * colorsys.rgb_to_hsv(*face)[0] == pytest.approx(media["hue"], abs=3)
        colourful = frames.max(axis=3) - frames.min(axis=3) > 40  # the face, not the gray background
        centre_x = [np.nonzero(mask)[1].mean() for mask in colourful]
        assert (max(centre_x) - min(centre_x)) / 2 == pytest.approx(media["motion"], abs=1.5)
    order = np.argsort([c.factors["brightness"] for c in clips])
    assert measured[order[-1]] > measured[order[0]]


def test_ground_truth_describes_the_model_and_the_yardsticks(dataset, clips):
    root, _ = dataset
    truth = json.loads((root / gt.GROUND_TRUTH).read_text())
    model = truth["model"]
    assert model["hidden_band"] == gt.HIDDEN_BAND
    assert model["signal_r2"] == 0.8 and model["label_sd"] == 0.15
    modality = {name: spec["modality"] for name, spec in model["factors"].items()}
    assert {modality[f] for f in model["trait_weights"]["neuroticism"]} == {"audio"}
    assert {modality[f] for f in model["trait_weights"]["agreeableness"]} == {"video"}
    assert truth["seed"] == 7 and truth["params"] == TINY
    assert truth["short_clips"] == [c.clip_id for c in clips if c.kind == "short"]
    assert truth["silent_clips"] == [c.clip_id for c in clips if not c.has_audio]
    expected = synth.reference_metrics(clips, 0.8)
    for split in synth.SPLIT_FOLDERS:
        assert set(truth["splits"][split]) == {*LABELS, "mean"}
        for label in (*TRAITS, "mean"):
            for key in ("baseline_1mae", "ceiling_1mae"):
                assert truth["splits"][split][label][key] == pytest.approx(expected[split][label][key], abs=1e-6)
    assert set(truth["clips"]) == {c.clip_id for c in clips}


def test_bayes_predictions_from_ground_truth_reproduce_the_ceiling(dataset, clips):
    root, _ = dataset
    truth = json.loads((root / gt.GROUND_TRUTH).read_text())
    bayes = bayes_predictions(truth)
    assert set(bayes) == {c.clip_id for c in clips}
    test = [c for c in clips if c.split == "test"]
    for trait in TRAITS:
        errors = [abs(c.labels[trait] - bayes[c.clip_id][trait]) for c in test]
        assert 1 - np.mean(errors) == pytest.approx(truth["splits"]["test"][trait]["ceiling_1mae"], abs=1e-5)


def test_regeneration_is_byte_identical(dataset, tmp_path):
    root, _ = dataset
    again = tmp_path / "again"
    synth.generate(again, TINY, threads=1, log=lambda line: None)
    assert files_under(again) == files_under(root)
    for relpath in files_under(root):
        assert (again / relpath).read_bytes() == (root / relpath).read_bytes(), relpath


def test_refuses_a_folder_that_may_hold_real_data(tmp_path):
    (tmp_path / "notes.txt").write_text("my real clips")
    with pytest.raises(ValueError, match="ground_truth.json"):
        synth.generate(tmp_path, TINY, log=lambda line: None)
    assert files_under(tmp_path) == {"notes.txt"}


def test_replaces_an_earlier_synthetic_dataset_and_drops_stale_clips(tmp_path):
    root = tmp_path / "raw"
    (root / "train").mkdir(parents=True)  # empty folders, as Snakemake makes them, are welcome
    quick = {**TINY, "duration_s": 1.0, "n_short": 0, "n_silent": 0, "n_clips": {"train": 2, "val": 1, "test": 1}}
    synth.generate(root, quick, log=lambda line: None)
    fewer = {**quick, "n_clips": {"train": 1, "val": 1, "test": 1}}
    lines = []
    synth.generate(root, fewer, log=lines.append)
    assert files_under(root) == set(synth.output_files(fewer))
    assert any(line.startswith("removing train/") for line in lines)


@pytest.mark.parametrize(
    "change, word",
    [
        ({"n_clips": {"train": 0, "val": 1, "test": 1}}, "n_clips"),
        ({"width": 161}, "width"),
        ({"signal_r2": 1.5}, "signal_r2"),
        ({"duration_s": 0}, "duration_s"),
    ],
)
def test_bad_params_are_named(change, word):
    with pytest.raises(ValueError, match=word):
        synth.plan({**TINY, **change})
