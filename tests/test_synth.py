"""The synthetic dataset: real ChaLearn layout and formats, a learnable known answer, determinism."""

import json
import pickle
import re
import subprocess

import ffmpeg
import numpy as np
import pytest

from impressions import LABELS, TRAITS, synth

TINY = {
    "seed": 11, "n_clips": {"train": 5, "val": 2, "test": 2}, "duration_s": 6.0, "n_short": 1, "n_silent": 1,
    "width": 160, "height": 90, "fps": 10, "signal_r2": 0.8,
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    synth.generate(root, TINY, threads=2, log=lambda _: None)
    return root


def test_plan_is_deterministic_named_like_chalearn_and_prefix_stable():
    clips = synth.plan(TINY)
    assert clips == synth.plan(TINY)
    assert len(clips) == 5 + 2 + 2 + 1 + 1 and len({c.clip_id for c in clips}) == len(clips)
    for clip in clips:
        assert re.fullmatch(r"[A-Za-z0-9_-]{11}\.\d{3}", clip.clip_id)
        assert clip.relpath == f"{synth.SPLIT_FOLDERS[clip.split]}/{clip.clip_id}.mp4"
    assert [c.kind for c in clips if c.kind != "regular"] == ["short", "silent"]
    assert all(c.duration_s < 5 for c in clips if c.kind == "short")
    bigger = synth.plan({**TINY, "n_clips": {"train": 8, "val": 3, "test": 2}})
    assert {c.clip_id for c in clips} <= {c.clip_id for c in bigger}
    assert {c.clip_id for c in synth.plan({**TINY, "seed": 12})}.isdisjoint(c.clip_id for c in clips)


def test_trait_structure_has_audio_only_video_only_and_mixed_traits():
    modality = {name: spec["modality"] for name, spec in synth.FACTORS.items()}
    uses = {trait: {modality[f] for f in weights} for trait, weights in synth.TRAIT_WEIGHTS.items()}
    assert uses["neuroticism"] == {"audio"} and uses["agreeableness"] == {"video"}
    assert all(uses[t] == {"audio", "video"} for t in ("extraversion", "conscientiousness", "openness"))
    assert synth.HIDDEN_BAND["trait"] == "neuroticism" and "band_energy" in synth.TRAIT_WEIGHTS["neuroticism"]


def test_label_statistics_are_chalearn_like_and_the_ceiling_beats_the_baseline():
    clips = synth.plan({**TINY, "n_clips": {"train": 3000, "val": 1000, "test": 1000}})
    labels = np.array([[c.labels[t] for t in TRAITS] for c in clips])
    assert labels.min() >= 0 and labels.max() <= 1
    np.testing.assert_allclose(labels.mean(axis=0), 0.5, atol=0.01)
    np.testing.assert_allclose(labels.std(axis=0), 0.15, atol=0.01)
    reference = synth.reference_metrics(clips, TINY["signal_r2"])
    for split in ("train", "val", "test"):
        assert reference[split]["mean"]["baseline_1mae"] == pytest.approx(0.88, abs=0.01)
        assert reference[split]["mean"]["ceiling_1mae"] > reference[split]["mean"]["baseline_1mae"] + 0.04


def test_files_on_disk_are_exactly_the_planned_outputs(dataset):
    on_disk = sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*") if p.is_file())
    assert on_disk == sorted(synth.output_files(TINY))


def test_media_formats_match_chalearn(dataset):
    for clip in synth.plan(TINY):
        info = ffmpeg.probe(str(dataset / clip.relpath))
        streams = {s["codec_type"]: s for s in info["streams"]}
        assert streams["video"]["codec_name"] == "h264"
        assert (streams["video"]["width"], streams["video"]["height"]) == (160, 90)
        assert float(info["format"]["duration"]) == pytest.approx(clip.duration_s, abs=0.2)
        if clip.has_audio:
            assert streams["audio"]["codec_name"] == "aac"
            assert (int(streams["audio"]["sample_rate"]), streams["audio"]["channels"]) == (44100, 2)
        else:
            assert "audio" not in streams


def test_annotations_are_in_the_chalearn_pickle_format(dataset):
    clips = synth.plan(TINY)
    for split, name in synth.ANNOTATION_FILES.items():
        with open(dataset / name, "rb") as handle:
            table = pickle.load(handle, encoding="latin1")
        assert sorted(table) == sorted(LABELS)
        expected = {f"{c.clip_id}.mp4": c.labels for c in clips if c.split == split}
        for label in LABELS:
            assert set(table[label]) == set(expected)
            for clip_file, value in table[label].items():
                assert type(value) is float and 0 <= value <= 1
                assert value == pytest.approx(expected[clip_file][label])


def test_ground_truth_names_the_model_and_the_yardsticks(dataset):
    truth = json.loads((dataset / synth.GROUND_TRUTH).read_text())
    assert truth["model"]["hidden_band"] == synth.HIDDEN_BAND
    assert set(truth["splits"]) == {"train", "val", "test"}
    assert set(truth["splits"]["test"]) == {*LABELS, "mean"}
    assert truth["silent_clips"] and truth["short_clips"]


def decoded(path, rate=16000):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def band_energy_db(waveform, rate=16000):
    band = synth.HIDDEN_BAND
    burst = waveform[int(band["start_s"] * rate) + 800: int(band["end_s"] * rate) - 800]
    spectrum = np.abs(np.fft.rfft(burst)) ** 2
    freqs = np.fft.rfftfreq(len(burst), 1 / rate)
    return 10 * np.log10(spectrum[(freqs >= band["low_hz"]) & (freqs <= band["high_hz"])].sum())


def test_band_energy_factor_is_heard_in_the_hidden_band(dataset):
    clips = sorted((c for c in synth.plan(TINY) if c.kind == "regular"), key=lambda c: c.factors["band_energy"])
    low, high = clips[0], clips[-1]
    expected_db = synth.media_values(high.factors)["band_energy"] - synth.media_values(low.factors)["band_energy"]
    measured_db = band_energy_db(decoded(dataset / high.relpath)) - band_energy_db(decoded(dataset / low.relpath))
    assert measured_db == pytest.approx(expected_db, abs=3.0)


def test_brightness_factor_is_seen_in_the_frames(dataset):
    clips = sorted((c for c in synth.plan(TINY) if c.kind == "regular"), key=lambda c: c.factors["brightness"])

    def corner_level(clip):
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(dataset / clip.relpath), "-frames:v", "1", "-f", "rawvideo",
                              "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.uint8).reshape(90, 160)[:10, :10].mean()

    for clip in (clips[0], clips[-1]):
        assert corner_level(clip) == pytest.approx(synth.media_values(clip.factors)["brightness"], abs=6)


def test_regeneration_is_byte_identical(dataset, tmp_path):
    synth.generate(tmp_path, TINY, threads=1, log=lambda _: None)
    for relpath in synth.output_files(TINY):
        assert (tmp_path / relpath).read_bytes() == (dataset / relpath).read_bytes(), relpath


def test_refuses_to_write_into_a_folder_that_is_not_synthetic(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "my_real_clip.mp4").write_bytes(b"precious")
    with pytest.raises(ValueError, match="may be real data"):
        synth.generate(tmp_path, TINY, log=lambda _: None)
    assert (tmp_path / "train" / "my_real_clip.mp4").read_bytes() == b"precious"


def test_invalid_params_say_what_is_wrong():
    with pytest.raises(ValueError, match="width=161 must be an even integer"):
        synth.plan({**TINY, "width": 161})
