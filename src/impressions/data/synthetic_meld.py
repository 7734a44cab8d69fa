"""A synthetic dataset in the MELD.Raw layout, with a known answer.

Dialogues of two or three speakers, two to six utterances each, 1-8 s long, with English text.
Each utterance's emotion (MELD's seven, about as imbalanced: neutral is near half) sets its
voice and face (`synthetic_emotion`) and, with probability `KEYWORD_P`, puts one of the
emotion's words in the text. The CSVs are written in the encodings found in the wild: train as
UTF-8 with a byte-order mark, dev as UTF-8, test as cp1252 (its apostrophes are byte \\x92).
Everything follows from the seed; the media are encoded bit-exact.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from impressions.data.kinds import meld
from impressions.data.synthetic import _claim
from impressions.data.synthetic_emotion import NOISE, VOICES, draw_voice, write_video
from impressions.io.atomic import atomic_path, write_json

DATASET = {"kind": "meld", "splits": meld.default_splits()}
"""The `dataset` settings the meld adapter reads the generated files with."""

PRIORS = {"neutral": 0.47, "joy": 0.17, "surprise": 0.12, "anger": 0.11, "sadness": 0.07, "disgust": 0.03, "fear": 0.03}
SENTIMENT = {"neutral": "neutral", "joy": "positive", "anger": "negative", "sadness": "negative", "disgust": "negative", "fear": "negative"}
KEYWORD_P = 0.6
KEYWORDS = {
    "neutral": ["okay", "alright", "sure"],
    "joy": ["great", "wonderful", "love"],
    "surprise": ["whoa", "really", "seriously"],
    "anger": ["stop", "enough", "hate"],
    "sadness": ["sorry", "miss", "alone"],
    "disgust": ["gross", "ugh", "disgusting"],
    "fear": ["scared", "afraid", "help"],
}
FILLER = ["I don’t know", "it’s the coffee place", "we’re going", "that’s what she said", "I’m on my way", "you can’t be", "let’s talk later"]
SPEAKERS = ["Monica", "Ross", "Rachel", "Chandler", "Joey", "Phoebe"]
ENCODINGS = {"train": "utf-8-sig", "val": "utf-8", "test": "cp1252"}
PARAM_KEYS = ("seed", "n_dialogues", "width", "height", "fps")


@dataclass(frozen=True)
class UtterancePlan:
    """One utterance, known before its media exist."""

    split: str
    relpath: str
    clip_id: str
    dialogue: int
    utterance: int
    speaker: str
    emotion: str
    sentiment: str
    text: str
    keyword: bool
    duration_s: float
    start_s: float
    season: int
    episode: int
    voice: dict
    media_seed: int


def plan(params: Mapping) -> list[UtterancePlan]:
    """Every utterance of every dialogue, by split (cheap: no media)."""
    _check(params)
    utterances = []
    for split_index, split in enumerate(("train", "val", "test")):
        folder = meld.default_splits()[split]["videos"]
        for dialogue in range(params["n_dialogues"][split]):
            rng = np.random.default_rng([params["seed"], split_index, dialogue])
            speakers = list(rng.choice(SPEAKERS, size=int(rng.integers(2, 4)), replace=False))
            season, episode, start = int(rng.integers(1, 11)), int(rng.integers(1, 25)), float(rng.uniform(60, 1200))
            for utterance in range(int(rng.integers(2, 7))):
                emotion = str(rng.choice(list(PRIORS), p=list(PRIORS.values())))
                sentiment = SENTIMENT.get(emotion) or str(rng.choice(["positive", "negative"]))
                keyword = bool(rng.random() < KEYWORD_P)
                words = [str(rng.choice(FILLER))] + ([str(rng.choice(KEYWORDS[emotion]))] if keyword else [])
                duration = round(float(rng.uniform(1.0, 8.0)) * params["fps"]) / params["fps"]
                utterances.append(
                    UtterancePlan(
                        split=split,
                        relpath=f"{folder}/dia{dialogue}_utt{utterance}.mp4",
                        clip_id=meld.clip_id(split, dialogue, utterance),
                        dialogue=dialogue,
                        utterance=utterance,
                        speaker=str(speakers[utterance % len(speakers)]),
                        emotion=emotion,
                        sentiment=sentiment,
                        text=", ".join(words).capitalize() + ("!" if emotion in ("joy", "anger", "surprise") else "."),
                        keyword=keyword,
                        duration_s=duration,
                        start_s=start,
                        season=season,
                        episode=episode,
                        voice=draw_voice(emotion, rng),
                        media_seed=int(rng.integers(2**31)),
                    )
                )
                start += duration + float(rng.uniform(0.2, 2.0))
    return utterances


def output_files(params: Mapping) -> list[str]:
    return [u.relpath for u in plan(params)] + [where["annotations"] for where in meld.default_splits().values()] + ["ground_truth.json"]


def generate(root: str | Path, params: Mapping, *, threads: int = 1, log: Callable[[str], object] = print) -> None:
    """Write the dataset under `root`: ground_truth.json first (it marks the folder), the CSVs, the mp4s."""
    root = Path(root)
    utterances = plan(params)
    _claim(root)
    write_json(root / "ground_truth.json", ground_truth(utterances, params))
    for split, where in meld.default_splits().items():
        _write_csv(root / where["annotations"], [u for u in utterances if u.split == split], ENCODINGS[split])
    log(f"synthetic MELD: encoding {len(utterances)} utterances into {root} with {threads} threads")

    def render(item):
        number, u = item
        write_video(root / u.relpath, u.duration_s, u.voice, u.media_seed, params)
        log(f"[{number}/{len(utterances)}] {u.relpath} {u.duration_s:.1f} s {u.emotion}")

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(render, enumerate(utterances, start=1)))


def ground_truth(utterances: list[UtterancePlan], params: Mapping) -> dict:
    """The generating rule and every utterance's emotion and hidden values."""
    return {
        "kind": "meld",
        "params": {key: params[key] for key in PARAM_KEYS},
        "rule": {"priors": PRIORS, "voices": VOICES, "noise": NOISE, "keyword_p": KEYWORD_P, "keywords": KEYWORDS, "sentiment": SENTIMENT},
        "clips": {u.clip_id: {k: v for k, v in asdict(u).items() if k not in ("clip_id", "media_seed")} for u in utterances},
    }


def _timestamp(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{int(rest):02d},{int(round(rest % 1 * 1000)) % 1000:03d}"


def _write_csv(path: Path, utterances: list[UtterancePlan], encoding: str) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(meld.CSV_COLUMNS)
    for number, u in enumerate(utterances, start=1):
        row = [number, u.text, u.speaker, u.emotion, u.sentiment, u.dialogue, u.utterance, u.season, u.episode]
        writer.writerow(row + [_timestamp(u.start_s), _timestamp(u.start_s + u.duration_s)])
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.getvalue().encode(encoding))


def _check(params: Mapping) -> None:
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"synthetic.meld: missing {missing}")
    if any(not isinstance(params["n_dialogues"].get(s), int) or params["n_dialogues"][s] < 1 for s in ("train", "val", "test")):
        raise ValueError(f"synthetic.meld.n_dialogues needs a count of at least 1 for train, val and test, got {params['n_dialogues']}")
