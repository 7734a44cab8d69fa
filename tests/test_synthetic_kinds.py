"""The MELD-layout and audio-table generators: layout, encodings, determinism and the planted signal."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from impressions.data import synthetic_meld, synthetic_table
from impressions.data.kinds import meld
from impressions.data.synthetic_emotion import VOICES
from impressions.io.wav import read_wav

MELD = {"seed": 3, "n_dialogues": {"train": 2, "val": 1, "test": 1}, "width": 32, "height": 24, "fps": 5}
TABLE = {"seed": 3, "n_files": {"train": 8, "test": 2}}


def digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def meld_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("meld")
    synthetic_meld.generate(root, MELD, threads=2, log=lambda _: None)
    return root


def test_meld_layout_names_and_csv_encodings(meld_root):
    assert sorted(digests(meld_root)) == sorted(synthetic_meld.output_files(MELD))
    raw = {name: (meld_root / name).read_bytes() for name in ("train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv")}
    assert raw["train_sent_emo.csv"].startswith(b"\xef\xbb\xbf") and not raw["dev_sent_emo.csv"].startswith(b"\xef\xbb\xbf")
    assert b"\x92" in raw["test_sent_emo.csv"] and "’".encode() in raw["dev_sent_emo.csv"]
    header = raw["dev_sent_emo.csv"].decode().splitlines()[0]
    assert header == "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"
    test = pd.read_csv(meld_root / "test_sent_emo.csv", encoding="cp1252")
    plan = [u for u in synthetic_meld.plan(MELD) if u.split == "test"]
    assert list(test["Utterance"]) == [u.text for u in plan] and list(test["Emotion"]) == [u.emotion for u in plan]
    assert all(":" in t and "," in t for t in test["StartTime"])
    for u in plan:
        assert (meld_root / meld.default_splits()["test"]["videos"] / f"dia{u.dialogue}_utt{u.utterance}.mp4").is_file()


def test_meld_generation_is_byte_identical(meld_root, tmp_path):
    synthetic_meld.generate(tmp_path, MELD, threads=1, log=lambda _: None)
    assert digests(tmp_path) == digests(meld_root)


def test_meld_emotions_are_imbalanced_like_meld_and_carry_their_keywords():
    plan = synthetic_meld.plan({**MELD, "n_dialogues": {"train": 200, "val": 1, "test": 1}})
    shares = pd.Series([u.emotion for u in plan]).value_counts(normalize=True)
    assert 0.40 < shares["neutral"] < 0.54 and shares.idxmax() == "neutral" and shares["fear"] < 0.06
    for u in plan:
        assert u.keyword == any(word in u.text.lower() for word in synthetic_meld.KEYWORDS[u.emotion])
        assert 1.0 <= u.duration_s <= 8.0 and u.sentiment in meld.SENTIMENTS


def test_table_files_and_the_voice_they_carry(tmp_path):
    synthetic_table.generate(tmp_path, TABLE, threads=2, log=lambda _: None)
    train, test = pd.read_csv(tmp_path / "train.csv"), pd.read_csv(tmp_path / "test.csv")
    assert list(train.columns) == ["file", "emotion"] and list(test.columns) == ["file"] and (len(train), len(test)) == (8, 2)
    assert {f.rsplit(".", 1)[1] for f in pd.concat([train["file"], test["file"]])} <= {"wav", "mp3"}
    loudness = {}
    for item in synthetic_table.plan(TABLE):
        if item.relpath.endswith(".wav"):
            wave, rate = read_wav(tmp_path / item.relpath) if item.channels == 1 else (None, None)
            if wave is not None:
                assert rate == item.sample_rate and abs(len(wave) / rate - item.duration_s) < 0.01
                loudness.setdefault(item.emotion, []).append(20 * np.log10(np.sqrt(np.mean(wave.astype(np.float64) ** 2))))
    for emotion, levels in loudness.items():  # the RMS level the emotion's voice sets, within the per-clip spread
        assert abs(np.mean(levels) - VOICES[synthetic_table.EMOTIONS[emotion]]["loudness"]) < 6
