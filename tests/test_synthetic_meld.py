"""The MELD-layout generator: MELD.Raw's names and columns, its encodings, media as planned, a signal, byte-identical runs."""

import colorsys
import hashlib
import json
import re

import ffmpeg
import numpy as np
import pandas as pd
import pytest

from impressions.data import synthetic_meld as sm
from impressions.features import aligned
from impressions.features.spoken_words import spoken_words
from planted import median_pitch

TINY = {"seed": 11, "n_dialogues": {"train": 2, "val": 1, "test": 1}, "width": 96, "height": 54, "fps": 10}
HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"
CSVS = {"train": "train_sent_emo.csv", "val": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
FOLDERS = {"train": "train_splits", "val": "dev_splits_complete", "test": "output_repeated_splits_test"}
RATE = 16000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("meld") / "raw"
    sm.generate(root, TINY, threads=2, log=lambda _: None)
    return root


@pytest.fixture(scope="module")
def utterances():
    return sm.plan(TINY)


def digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def decode_audio(path):
    """The clip's audio at 16 kHz, its two channels averaged (ffmpeg's own downmix would add 3 dB)."""
    out, _ = ffmpeg.input(str(path)).output("pipe:", format="f32le", ar=RATE, ac=2).run(capture_stdout=True, quiet=True)
    return np.frombuffer(out, np.float32).reshape(-1, 2).mean(axis=1).astype(np.float64)


def first_frame(path):
    out, _ = ffmpeg.input(str(path)).output("pipe:", format="rawvideo", pix_fmt="rgb24", vframes=1).run(capture_stdout=True, quiet=True)
    return np.frombuffer(out, np.uint8).reshape(TINY["height"], TINY["width"], 3).astype(float)


def test_the_layout_is_meld_raws(dataset, utterances):
    assert sorted(digests(dataset)) == sorted(sm.output_files(TINY))
    for split in sm.SPLITS:
        names = {p.name for p in (dataset / FOLDERS[split]).iterdir()}
        members = [u for u in utterances if u.split == split]
        assert names == {f"dia{u.dialogue}_utt{u.utterance}.mp4" for u in members}
        assert sorted({u.dialogue for u in members}) == list(range(TINY["n_dialogues"][split]))  # Dialogue_ID restarts in each split
        for u in members:
            assert u.clip_id == f"{split}_dia{u.dialogue}_utt{u.utterance}" and u.relpath == f"{FOLDERS[split]}/dia{u.dialogue}_utt{u.utterance}.mp4"


def test_the_csvs_have_melds_columns_and_encodings(dataset, utterances):
    raw = {split: (dataset / CSVS[split]).read_bytes() for split in sm.SPLITS}
    assert raw["train"].startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\n")
    assert raw["val"].startswith(HEADER.encode() + b"\n") and "’".encode() in raw["val"]
    assert raw["test"].startswith(HEADER.encode() + b"\n") and b"\x92" in raw["test"]
    with pytest.raises(UnicodeDecodeError):
        raw["test"].decode("utf-8")
    assert "\u2019" in raw["test"].decode("cp1252")
    for split, encoding in (("train", "utf-8-sig"), ("val", "utf-8"), ("test", "cp1252")):
        table = pd.read_csv(dataset / CSVS[split], encoding=encoding, dtype=str, keep_default_na=False)
        members = [u for u in utterances if u.split == split]
        assert ",".join(table.columns) == HEADER
        assert list(table["Sr No."]) == [str(i) for i in range(1, len(members) + 1)]
        assert list(table["Utterance"]) == [u.text for u in members] and all("’" in text for text in table["Utterance"])
        columns = {"Speaker": "speaker", "Emotion": "emotion", "Sentiment": "sentiment", "Dialogue_ID": "dialogue", "Utterance_ID": "utterance"}
        for column, attribute in columns.items():
            assert list(table[column]) == [str(getattr(u, attribute)) for u in members]
        for start, end, u in zip(table["StartTime"], table["EndTime"], members):
            assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3}", start) and re.fullmatch(r"\d\d:\d\d:\d\d,\d{3}", end)
            seconds = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in (re.split("[:,]", t) for t in (start, end))]
            assert seconds[0] == pytest.approx(u.start_s) and seconds[1] - seconds[0] == pytest.approx(u.duration_s, abs=0.002)


def test_every_clip_has_the_planned_streams_and_duration(dataset, utterances):
    for u in utterances:
        info = ffmpeg.probe(str(dataset / u.relpath))
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
        assert len(info["streams"]) == 2 and (video["codec_name"], audio["codec_name"]) == ("h264", "aac")
        assert (video["width"], video["height"], video["avg_frame_rate"]) == (TINY["width"], TINY["height"], f"{TINY['fps']}/1")
        assert (int(audio["sample_rate"]), audio["channels"]) == (44100, 2)
        for duration in (info["format"]["duration"], video["duration"], audio["duration"]):
            assert abs(float(duration) - u.duration_s) < 0.1, u.relpath


def test_the_media_show_the_hidden_values_and_so_the_emotions(dataset, utterances):
    pitch, loudness = {}, {}
    for u in utterances:
        signal = decode_audio(dataset / u.relpath)
        t = np.arange(len(signal)) / RATE
        steady = np.where(np.abs(t - u.change_s) > sm.CUE["change_s"] / 2 + 0.05, signal, 0.0)  # the voice change is louder and higher
        pitch[u.clip_id], loudness[u.clip_id] = median_pitch(steady, RATE), 10 * np.log10(np.mean(signal**2))
        # 6%: the autocorrelation estimate reads low voices a few % low
        assert abs(np.log(pitch[u.clip_id] / u.hidden["pitch"])) < 0.06 and abs(loudness[u.clip_id] - u.hidden["loudness"]) < 1.0
        frame = first_frame(dataset / u.relpath)  # at t = 0 the face sits in the middle
        face = frame[TINY["height"] // 2 - 3 : TINY["height"] // 2 + 3, TINY["width"] // 2 - 3 : TINY["width"] // 2 + 3].reshape(-1, 3).mean(axis=0)
        hue = colorsys.rgb_to_hsv(*(face / 255))[0] * 360
        assert abs((hue - u.hidden["hue"] + 180) % 360 - 180) < 5 and abs(frame[:4, :4].mean() - np.clip(u.hidden["brightness"], 0, 255)) < 4
    for value, measured in (("pitch", pitch), ("loudness", loudness)):  # classes with a higher planned mean sound higher / louder
        means = sm.HIDDEN[value]["mean"]
        middle = np.median(list(means.values()))
        high = [measured[u.clip_id] for u in utterances if means[u.emotion] > middle]
        low = [measured[u.clip_id] for u in utterances if means[u.emotion] <= middle]
        assert high and low and np.mean(high) > np.mean(low), value


def test_two_generations_are_byte_identical_and_stale_clips_go(dataset, tmp_path):
    other = tmp_path / "raw"
    (other / FOLDERS["train"]).mkdir(parents=True)
    (other / "ground_truth.json").write_text("{}")  # an earlier synthetic dataset, with a clip no longer planned and a file of the user's
    (other / FOLDERS["train"] / "dia99_utt0.mp4").write_bytes(b"stale")
    (other / FOLDERS["train"] / "notes.txt").write_text("mine")
    sm.generate(other, TINY, threads=1, log=lambda _: None)
    assert (other / FOLDERS["train"] / "notes.txt").read_text() == "mine"
    (other / FOLDERS["train"] / "notes.txt").unlink()
    assert digests(other) == digests(dataset)


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "train_sent_emo.csv").write_text("real data")
    with pytest.raises(ValueError, match="may be real data"):
        sm.generate(tmp_path, TINY, log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_sent_emo.csv"]


def test_ground_truth_holds_the_rule_the_yardsticks_and_every_clip(dataset, utterances):
    truth = json.loads((dataset / "ground_truth.json").read_text())
    assert truth["kind"] == "meld" and truth["params"] == TINY and set(truth["rule"]["hidden"]) == set(sm.HIDDEN)
    assert sorted(truth["clips"]) == sorted(u.clip_id for u in utterances)
    for u in utterances:
        clip = truth["clips"][u.clip_id]
        assert (clip["split"], clip["emotion"], clip["sentiment"], clip["text"]) == (u.split, u.emotion, u.sentiment, u.text)
        assert clip["hidden"] == pytest.approx(u.hidden, abs=1e-6)
    assert set(truth["splits"]) == set(sm.SPLITS)
    assert set(truth["splits"]["test"]["emotion"]) == {"baseline", "ceiling", "ceiling_audio", "ceiling_video", "ceiling_text"}


def test_the_plan_follows_its_rule_like_meld():
    """On many dialogues: MELD's class shares, its dialogue shapes, and emotions that set the hidden values and the words."""
    utterances = sm.plan({**TINY, "n_dialogues": {"train": 1500, "val": 1, "test": 1}})
    train = [u for u in utterances if u.split == "train"]
    shares = pd.Series([u.emotion for u in train]).value_counts(normalize=True)
    assert 0.44 < shares["neutral"] < 0.50 and shares.idxmax() == "neutral" and shares["fear"] < 0.04
    for u in train:
        assert 2.0 <= u.duration_s <= 8.0 and round(u.duration_s * TINY["fps"], 6) % 1 == 0
        assert u.sentiment in sm.SENTIMENT[u.emotion] and u.speaker in sm.SPEAKERS
        assert (u.word == "") == (u.word_emotion == "") and (not u.word or u.word in sm.WORDS[u.word_emotion] and u.word in u.text.lower())
    dialogues = pd.DataFrame([(u.dialogue, u.speaker) for u in train], columns=["dialogue", "speaker"]).groupby("dialogue")["speaker"]
    assert dialogues.size().between(2, 6).all() and dialogues.nunique().between(2, 3).all()
    assert all((s.to_numpy()[1:] != s.to_numpy()[:-1]).all() for _, s in dialogues)  # nobody speaks twice in a row
    for emotion in ("neutral", "joy", "anger"):
        members = [u for u in train if u.emotion == emotion]
        assert np.mean([np.log(u.hidden["pitch"]) for u in members]) == pytest.approx(np.log(sm.HIDDEN["pitch"]["mean"][emotion]), abs=0.03)
        assert np.mean([u.word_emotion == emotion for u in members]) == pytest.approx(sm.WORD_P + sm.STRAY_P / 6, abs=0.05)
    surprised = [u for u in train if u.emotion == sm.TIMED]
    assert not any(u.word_emotion == sm.TIMED for u in train) and np.mean([u.word_emotion != "" for u in surprised]) == pytest.approx(sm.STRAY_P, abs=0.05)
    metrics = sm.reference_metrics(utterances)["train"]["emotion"]
    assert metrics["baseline"]["accuracy"] == pytest.approx(shares["neutral"])
    assert 0.75 < metrics["ceiling"]["accuracy"] < 0.9 and all(0.5 < metrics[f"ceiling_{m}"]["accuracy"] < 0.75 for m in sm.MODALITIES)


def test_growing_a_split_changes_no_earlier_utterance():
    small, grown = sm.plan(TINY), sm.plan({**TINY, "n_dialogues": {"train": 4, "val": 2, "test": 3}})
    for split in sm.SPLITS:
        before = [u for u in small if u.split == split]
        assert [u for u in grown if u.split == split][: len(before)] == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n_dialogues": {"train": 1, "val": 1}}, r"n_dialogues=.* must map each of \['train', 'val', 'test'\] to an integer >= 1"),
        ({"width": 95}, "width=95 must be an even integer >= 16"),
        ({"seed": -1}, "seed=-1 must be an integer >= 0"),
    ],
)
def test_bad_params_are_refused_with_the_value_and_what_is_allowed(change, message):
    with pytest.raises(ValueError, match=message):
        sm.plan({**TINY, **change})
    with pytest.raises(ValueError, match=r"lack \['fps'\]"):
        sm.plan({key: value for key, value in TINY.items() if key != "fps"})


def test_surprise_is_the_cue_word_and_the_voice_change_at_one_moment():
    """Every utterance says "oh" once and changes its voice once; together exactly when surprised, else
    at least 1 s apart (or as far apart as its words go)."""
    utterances = sm.plan({**TINY, "n_dialogues": {"train": 300, "val": 1, "test": 1}})
    for u in utterances:
        words = spoken_words(u.text)
        assert words.count("oh") == 1 and u.together == (u.emotion == sm.TIMED), u
        centres = [round((a + b) / 2, 4) for a, b in sm.spoken_spans(words, u.duration_s)]
        assert u.cue_s == centres[words.index("oh")] and u.change_s in centres
        if not u.together:
            farthest = max(abs(c - u.cue_s) for c in centres)
            assert abs(u.change_s - u.cue_s) >= min(sm.CUE["apart_s"], farthest) - 1e-9
    assert {u.emotion for u in utterances if u.together} == {sm.TIMED}
    u = next(u for u in utterances if u.emotion == sm.TIMED and not u.word)
    for modality in ("audio", "video"):  # alone, neither tells surprise from neutral: the same means
        alone = sm.bayes_posterior(u.hidden, u.word_emotion, u.together, modalities=(modality,))
        assert alone[sm.TIMED] / alone["neutral"] == pytest.approx(sm.PRIORS[sm.TIMED] / sm.PRIORS["neutral"])
    text = sm.bayes_posterior(u.hidden, u.word_emotion, u.together, modalities=("text",))  # only that no emotion word is likelier: 0.9 vs 0.55
    assert text[sm.TIMED] / text["neutral"] == pytest.approx(sm.PRIORS[sm.TIMED] / sm.PRIORS["neutral"] * 0.9 / 0.55)
    both = sm.bayes_posterior(u.hidden, u.word_emotion, u.together, modalities=("audio", "text"))
    assert both[sm.TIMED] == 1.0


def test_the_words_are_said_where_planned_and_the_voice_changes_where_planned(dataset, utterances):
    """The voiced stretches are the planned words (one stretch each); the voice is higher inside the change."""
    for u in utterances:
        signal = decode_audio(dataset / u.relpath)
        spans = sm.spoken_spans(spoken_words(u.text), u.duration_s)
        np.testing.assert_allclose(aligned.voiced_stretches(signal.astype(np.float32), sample_rate=RATE), spans, atol=0.03)
        t = np.arange(len(signal)) / RATE
        inside = np.where(np.abs(t - u.change_s) < sm.CUE["change_s"] / 2 - 0.03, signal, 0.0)
        assert median_pitch(inside, RATE) / u.hidden["pitch"] == pytest.approx(1.5, rel=0.08), u.clip_id
