"""A synthetic dataset in the MELD.Raw layout, with a known answer.

Dialogues of two or three speakers (Friends' names), two to six utterances each, 2-8 s long,
with English text, said word by word. Each utterance's emotion is drawn with MELD's own class
shares (neutral near half) and sets, around the emotion's means (`HIDDEN`), the voice (pitch,
syllable rate, loudness) and the face (hue, sway); with probability `WORD_P` the text holds one
of the emotion's words (`WORDS`), with `STRAY_P` one of any emotion's, around neutral filler.
Surprise is told by timing alone (`CUE`): every utterance says "oh" and changes its voice once,
and only in a surprised one at the same moment. The sentiment follows from the emotion as in
MELD (surprise either way). ground_truth.json holds the rule, every utterance's hidden values
and cue times, and the accuracy of the majority class (baseline) and of the Bayes classifier
that sees the hidden values, the word and the timing (ceiling), per split.

The CSVs come in the encodings found in the wild: train as UTF-8 with a byte-order mark, dev as
UTF-8, test as cp1252 (its apostrophes are byte \\x92). Everything follows from the seed: each
dialogue and each utterance draws from a random stream of its own (seed, split, dialogue,
utterance), so growing a split changes no earlier utterance; the media are encoded bit-exact.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import soundfile as sf

from impressions import __version__
from impressions.data.ground_truth import GROUND_TRUTH
from impressions.data.kinds import meld
from impressions.data.synthetic import _claim, _is_int, _remove_stale_clips, _render_all, _rounded
from impressions.data.synthetic_media import AUDIO_RATE, _encode, _voice, class_scores, draw_values, face_frames, log_likelihoods, over_background, window
from impressions.features.spoken_words import even_pace, spoken_words
from impressions.io.atomic import atomic_path, write_json

SPLITS = ("train", "val", "test")
SPLIT_FOLDERS = {split: where["videos"] for split, where in meld.default_splits().items()}
"""Split -> folder of its mp4s (MELD.Raw's names; MELD's dev is our val)."""
CSV_FILES = {split: where["annotations"] for split, where in meld.default_splits().items()}
"""Split -> its CSV (MELD.Raw's names)."""
ENCODINGS = {"train": "utf-8-sig", "val": "utf-8", "test": "cp1252"}
"""Split -> the encoding its CSV is written in."""
DATASET = {"kind": "meld", "splits": meld.default_splits()}
"""The `dataset` settings the meld adapter reads the generated files with."""

PARAM_KEYS = ("seed", "n_dialogues", "width", "height", "fps")
"""Keys of `params` (config.yaml's `synthetic.meld` with `synthetic.seed`; other keys are ignored)."""

EMOTIONS = meld.EMOTIONS
MODALITIES = ("audio", "video", "text")
MELD_TRAIN_COUNTS = {"neutral": 4710, "joy": 1743, "surprise": 1205, "anger": 1109, "sadness": 683, "disgust": 271, "fear": 268}
"""Utterances per emotion in MELD's train split; our class shares."""
PRIORS = {emotion: count / sum(MELD_TRAIN_COUNTS.values()) for emotion, count in MELD_TRAIN_COUNTS.items()}
SENTIMENT = {
    "neutral": {"neutral": 1.0},
    "joy": {"positive": 1.0},
    "surprise": {"positive": 591 / 1205, "negative": 614 / 1205},
    "anger": {"negative": 1.0},
    "sadness": {"negative": 1.0},
    "disgust": {"negative": 1.0},
    "fear": {"negative": 1.0},
}
"""P(sentiment | emotion), as in MELD's train split (where 591 of 1205 surprised utterances are positive).
Surprise's sentiment is drawn apart from the media: nothing in them tells it."""

HIDDEN = {
    "pitch": {
        "modality": "audio",
        "media": "voice f0, 1% vibrato",
        "unit": "Hz",
        "scale": "log",
        "sd": 0.15,
        "mean": {"neutral": 155.0, "joy": 195.0, "surprise": 155.0, "anger": 175.0, "sadness": 140.0, "disgust": 150.0, "fear": 200.0},
    },
    "syllable_rate": {
        "modality": "audio",
        "media": "syllable bursts per second",
        "unit": "Hz",
        "scale": "log",
        "sd": 0.22,
        "mean": {"neutral": 3.6, "joy": 4.1, "surprise": 3.6, "anger": 4.6, "sadness": 3.0, "disgust": 3.3, "fear": 4.8},
    },
    "loudness": {
        "modality": "audio",
        "media": "voice RMS level",
        "unit": "dBFS",
        "scale": "linear",
        "sd": 3.5,
        "mean": {"neutral": -28.0, "joy": -25.5, "surprise": -28.0, "anger": -23.5, "sadness": -31.0, "disgust": -27.0, "fear": -29.0},
    },
    "hue": {
        "modality": "video",
        "media": "face hue (drawn as a linear value, rendered modulo 360)",
        "unit": "degrees",
        "scale": "linear",
        "sd": 22.0,
        "mean": {"neutral": 180.0, "joy": 140.0, "surprise": 180.0, "anger": 125.0, "sadness": 200.0, "disgust": 158.0, "fear": 215.0},
    },
    "sway": {
        "modality": "video",
        "media": "amplitude of the face's sideways sway at 0.5 Hz",
        "unit": "share of the frame width",
        "scale": "log",
        "sd": 0.45,
        "mean": {"neutral": 0.046, "joy": 0.067, "surprise": 0.046, "anger": 0.082, "sadness": 0.036, "disgust": 0.056, "fear": 0.075},
    },
    "brightness": {
        "modality": "video",
        "media": "background gray level: a nuisance, the same for every emotion",
        "unit": "8-bit level",
        "scale": "linear",
        "sd": 20.0,
        "mean": dict.fromkeys(EMOTIONS, 110.0),
    },
}
"""The hidden media values of an utterance: drawn around its emotion's means (see `synthetic_media.draw_values`).
Surprise has neutral's means: only the timing of its cue tells it (`CUE`)."""

TIMED = "surprise"
"""The emotion carried only by when things happen: its cue word and a voice change at the same moment."""
CUE = {
    "word": "oh",
    "change": "the pitch raised by half (x1.5) and the voice 6 dB louder, for change_s seconds around a word's centre",
    "change_s": 0.3,
    "apart_s": 1.0,
    "pause_s": 0.12,
    "lead_s": 0.15,
}
"""Every utterance says `word` once and changes its voice once. In a surprised one the change is on
the cue word; in any other it is on another word whose centre is at least `apart_s` away (the
farthest word where none is): the word alone and the change alone carry nothing. Words are said
at an even pace (`spoken_words.even_pace`) from `lead_s` after the start to `lead_s` before the
end, `pause_s` apart."""

WORD_P = 0.35
"""Probability that an utterance's text holds a word of its own emotion (surprise has none)."""
STRAY_P = 0.1
"""Probability that it holds instead a word of an emotion drawn uniformly from those with words (its own among them)."""
WORDS = {
    "neutral": ["okay", "anyway", "alright"],
    "joy": ["great", "wonderful", "yay"],
    "anger": ["stop", "enough", "damn"],
    "sadness": ["sorry", "miss", "alone"],
    "disgust": ["gross", "ugh", "eww"],
    "fear": ["scared", "afraid", "help"],
}
FILLER = [
    "I don’t know",
    "it’s on the table",
    "we’re meeting at the coffee house",
    "that’s what Joey said",
    "I’m going to the store",
    "you’re on the couch",
    "let’s talk about it later",
    "he’s in the kitchen",
    "there’s a message for you",
    "it’s my turn",
]
"""Phrases that tell no emotion; every one has an apostrophe (U+2019, byte \\x92 in cp1252)."""
SPEAKERS = ["Monica", "Ross", "Rachel", "Chandler", "Joey", "Phoebe"]

_UTTERANCE_FILE = re.compile(r"^dia\d+_utt\d+\.mp4$")


@dataclass(frozen=True)
class UtterancePlan:
    """Everything about one utterance that is known before its media exist.

    Attributes
    ----------
    clip_id : "<split>_dia{D}_utt{U}", unique in the dataset
    split : "train", "val" or "test"
    relpath : "<split folder>/dia{D}_utt{U}.mp4", relative to the dataset root
    dialogue, utterance : MELD's Dialogue_ID (from 0 in each split) and Utterance_ID (from 0 in each dialogue)
    speaker, text : the CSV's Speaker and Utterance
    word : the emotion word in the text, or "" for none
    word_emotion : the emotion `word` belongs to (not always the utterance's), or ""
    emotion, sentiment : the labels
    duration_s : length of the clip (a whole number of frames)
    start_s : where it starts in its episode (StartTime; EndTime is start_s + duration_s)
    season, episode : where the dialogue is from
    hidden : the hidden media values, keyed by `HIDDEN`
    cue_s : the centre of the cue word ("oh"), seconds from the clip's start
    change_s : the centre of the voice change (equal to `cue_s` in a surprised utterance)
    media_seed : seed of the clip's pixel and audio noise
    """

    clip_id: str
    split: str
    relpath: str
    dialogue: int
    utterance: int
    speaker: str
    text: str
    word: str
    word_emotion: str
    emotion: str
    sentiment: str
    duration_s: float
    start_s: float
    season: int
    episode: int
    hidden: dict[str, float]
    cue_s: float
    change_s: float
    media_seed: int

    @property
    def together(self) -> bool:
        """Whether the voice changes on the cue word (what tells surprise)."""
        return self.cue_s == self.change_s


def plan(params: Mapping) -> list[UtterancePlan]:
    """List every utterance of every dialogue, by split (train, val, test), without making any media.

    Cheap enough to run while Snakemake builds its DAG.

    Parameters
    ----------
    params : keys `PARAM_KEYS` (the schema's `synthetic` section gives each a default)

    Returns
    -------
    list[UtterancePlan]
    """
    _check_params(params)
    utterances = []
    for split_index, split in enumerate(SPLITS):
        for dialogue in range(params["n_dialogues"][split]):
            utterances += _plan_dialogue(params, split_index, dialogue)
    return utterances


def output_files(params: Mapping) -> list[str]:
    """Paths, relative to the dataset root, of every file `generate` writes."""
    return [u.relpath for u in plan(params)] + list(CSV_FILES.values()) + [GROUND_TRUTH]


def generate(root: str | Path, params: Mapping, *, threads: int = 1, log: Callable[[str], object] = print) -> None:
    """Write the whole dataset under `root`: mp4s per split folder, the three CSVs, ground_truth.json.

    `root` must be new, hold no files, or hold an earlier synthetic dataset (which is replaced,
    its utterances that are no longer planned removed). ground_truth.json is written first: it
    marks the folder as synthetic, so a run that dies half-way may be rerun over it.

    Parameters
    ----------
    root : folder of the dataset (created)
    params : keys `PARAM_KEYS`
    threads : clips encoded at the same time
    log : receives one progress line per clip

    Raises
    ------
    ValueError : if `root` holds files but no ground_truth.json (it could be real data)
    """
    root = Path(root)
    utterances = plan(params)
    _claim(root)
    write_json(root / GROUND_TRUTH, ground_truth(utterances, params))
    _remove_stale_clips(root, utterances, log, folders=SPLIT_FOLDERS.values(), pattern=_UTTERANCE_FILE)
    for split in SPLITS:
        _write_csv(root / CSV_FILES[split], [u for u in utterances if u.split == split], ENCODINGS[split])
    log(f"synthetic MELD dataset: encoding {len(utterances)} utterances into {root} with {threads} threads")
    _render_all(utterances, lambda u: _render(root / u.relpath, u, params), threads=threads, log=log)


def bayes_posterior(hidden: Mapping[str, float], word_emotion: str, together: bool, *, modalities: Iterable[str] = MODALITIES) -> dict[str, float]:
    """P(emotion | what `modalities` show): the best any classifier of those media can do.

    Parameters
    ----------
    hidden : an utterance's hidden values, keyed by `HIDDEN`
    word_emotion : the emotion the text's word belongs to, "" when it has none
    together : whether the voice changes on the cue word (seen only with both audio and text: it
        tells surprise for certain, and its absence rules surprise out)
    modalities : which of `MODALITIES` the classifier sees (the hidden values of audio and video, the word of text)

    Returns
    -------
    dict: emotion -> posterior probability, for every emotion of `EMOTIONS`
    """
    likelihood = log_likelihoods({name: spec for name, spec in HIDDEN.items() if spec["modality"] in modalities}, hidden, EMOTIONS)
    word = {e: np.log(_word_probability(word_emotion, e)) if "text" in modalities else 0.0 for e in EMOTIONS}
    log_posterior = np.array([np.log(PRIORS[e]) + likelihood[e] + word[e] for e in EMOTIONS])
    if {"audio", "text"} <= set(modalities):
        log_posterior[[(e == TIMED) != together for e in EMOTIONS]] = -np.inf
    posterior = np.exp(log_posterior - log_posterior.max())
    return dict(zip(EMOTIONS, map(float, posterior / posterior.sum())))


def label_posteriors(u: UtterancePlan) -> dict[str, dict[str, float]]:
    """The Bayes classifier (every modality) of one utterance, per label: {"emotion": {e: p}, "sentiment": {s: p}}."""
    emotion = bayes_posterior(u.hidden, u.word_emotion, u.together)
    return {"emotion": emotion, "sentiment": {s: sum(emotion[e] * SENTIMENT[e].get(s, 0.0) for e in EMOTIONS) for s in meld.SENTIMENTS}}


def reference_metrics(utterances: list[UtterancePlan]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """The baseline and ceilings per split and label, the yardsticks for any model.

    The baseline predicts the train split's most frequent class; the ceiling is the Bayes
    classifier that sees every modality (`bayes_posterior`), "ceiling_<modality>" the one that sees
    that modality alone. A sentiment's posterior is sum_e P(e | ...) P(sentiment | e).

    Returns
    -------
    dict: {split: {"emotion" | "sentiment": {"baseline" | "ceiling" | "ceiling_audio" | ...: {"accuracy", "weighted_f1"}}}}
    """
    train = [u for u in utterances if u.split == "train"]
    views = {"ceiling": MODALITIES, **{f"ceiling_{modality}": (modality,) for modality in MODALITIES}}
    result = {}
    for split in SPLITS:
        members = [u for u in utterances if u.split == split]
        metrics = {label: {} for label in ("emotion", "sentiment")}
        for label in metrics:
            majority = Counter(getattr(u, label) for u in train).most_common(1)[0][0]
            metrics[label]["baseline"] = class_scores([getattr(u, label) for u in members], [majority] * len(members))
        for view, modalities in views.items():
            emotions = [bayes_posterior(u.hidden, u.word_emotion, u.together, modalities=modalities) for u in members]
            sentiments = [{s: sum(p[e] * SENTIMENT[e].get(s, 0.0) for e in EMOTIONS) for s in meld.SENTIMENTS} for p in emotions]
            for label, posteriors in (("emotion", emotions), ("sentiment", sentiments)):
                metrics[label][view] = class_scores([getattr(u, label) for u in members], [max(p, key=p.get) for p in posteriors])
        result[split] = metrics
    return result


def ground_truth(utterances: list[UtterancePlan], params: Mapping) -> dict:
    """The content of ground_truth.json: the generating rule, the yardsticks and every utterance's labels and hidden values."""
    rule = {
        "emotions": list(EMOTIONS),
        "priors": PRIORS,
        "sentiment": SENTIMENT,
        "hidden": HIDDEN,
        "hidden_distribution": "per utterance, independently: a 'log' value is mean[emotion] * exp(sd z), a 'linear' one mean[emotion] + sd z, z ~ N(0, 1)",
        "text": {
            "word_p": WORD_P,
            "stray_p": STRAY_P,
            "words": WORDS,
            "filler": FILLER,
            "rule": "a filler phrase, with probability word_p a word of the utterance's emotion, else with probability stray_p a word of an emotion "
            "drawn uniformly from all seven; the word, uniform among its emotion's, goes before or after the filler, each half the time",
        },
        "timing": {
            **CUE,
            "emotion": TIMED,
            "rule": f"every utterance says '{CUE['word']}' once (between two of its words, or first or last) and changes its voice once: on that word "
            f"when the emotion is {TIMED}, else on a word at least apart_s away; per clip, cue.word_s and cue.change_s are their centres",
        },
        "posterior": "per clip, the Bayes classifier's P(emotion | hidden, word) and P(sentiment | hidden, word) = sum_e P(e | hidden, word) sentiment[e]",
        "bayes": "P(e | hidden, word, timing) ∝ prior[e] * prod_v N(x_v; m_v[e], sd_v) * P(word's emotion | e) * [together = (e = timed emotion)], "
        "x_v and m_v on the log scale for 'log' values; P(word's emotion = w | e) = word_p [w = e] + stray_p / 6 for the six emotions with words, "
        "P(no word | e) = 1 - word_p - stray_p (1 - stray_p for the timed emotion); the timing is seen only with both audio and text",
        "media": f"H.264 {params['width']}x{params['height']} at {params['fps']} fps: a face ellipse of the hue, swaying by sway * width pixels, "
        f"over the gray background; AAC {AUDIO_RATE} Hz stereo: harmonics k**-1.2 of the pitch, in syllables at syllable_rate, at the loudness, "
        "over -60 dBFS noise",
    }
    clips = {
        u.clip_id: {
            "split": u.split,
            "relpath": u.relpath,
            "dialogue": u.dialogue,
            "utterance": u.utterance,
            "speaker": u.speaker,
            "text": u.text,
            "word": u.word,
            "word_emotion": u.word_emotion,
            "cue": {"word": CUE["word"], "word_s": u.cue_s, "change_s": u.change_s, "together": u.together},
            "emotion": u.emotion,
            "sentiment": u.sentiment,
            "duration_s": u.duration_s,
            "hidden": u.hidden,
            "posterior": label_posteriors(u),
        }
        for u in utterances
    }
    content = {
        "generator": f"impressions.data.synthetic_meld {__version__}",
        "kind": "meld",
        "seed": params["seed"],
        "params": {key: params[key] for key in PARAM_KEYS},
        "rule": rule,
        "splits": reference_metrics(utterances),
        "clips_per_split": {split: sum(u.split == split for u in utterances) for split in SPLITS},
        "clips": clips,
    }
    return _rounded(content)


# --- planning ---------------------------------------------------------------------------------


def _check_params(params: Mapping) -> None:
    """Validate `params` at the boundary, saying which value is wrong and what is allowed."""
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"synthetic MELD params lack {missing}; they need {list(PARAM_KEYS)}")
    problems = []
    counts = params["n_dialogues"]
    if not isinstance(counts, Mapping) or sorted(counts) != sorted(SPLITS) or not all(_is_int(v, 1) for v in counts.values()):
        problems.append(f"n_dialogues={counts!r} must map each of {list(SPLITS)} to an integer >= 1")
    for key, low in (("seed", 0), ("fps", 1)):
        if not _is_int(params[key], low):
            problems.append(f"{key}={params[key]!r} must be an integer >= {low}")
    for key in ("width", "height"):
        if not _is_int(params[key], 16) or params[key] % 2:
            problems.append(f"{key}={params[key]!r} must be an even integer >= 16 (H.264 4:2:0 needs even sizes)")
    if problems:
        raise ValueError("invalid synthetic MELD params: " + "; ".join(problems))


def _plan_dialogue(params: Mapping, split_index: int, dialogue: int) -> list[UtterancePlan]:
    """Draw one dialogue: its cast and place from its own stream, then each utterance from one of its own."""
    rng = np.random.default_rng([params["seed"], split_index, dialogue, 0])
    speakers = [str(s) for s in rng.choice(SPEAKERS, size=int(rng.integers(2, 4)), replace=False)]
    n_utterances = int(rng.integers(2, 7))
    season, episode = int(rng.integers(1, 11)), int(rng.integers(1, 25))
    start = float(rng.uniform(30.0, 1200.0))
    split = SPLITS[split_index]
    utterances = []
    for index in range(n_utterances):
        rng = np.random.default_rng([params["seed"], split_index, dialogue, 1 + index])
        emotion = EMOTIONS[rng.choice(len(EMOTIONS), p=[PRIORS[e] for e in EMOTIONS])]
        sentiment = str(rng.choice(list(SENTIMENT[emotion]), p=list(SENTIMENT[emotion].values())))
        hidden = draw_values(HIDDEN, emotion, rng)
        others = [s for s in speakers if not utterances or s != utterances[-1].speaker]
        speaker = others[rng.integers(len(others))]
        word, word_emotion, text = _text(emotion, rng)
        duration = round(rng.uniform(2.0, 8.0) * params["fps"]) / params["fps"]
        cue_s, change_s = _cue_times(text, duration, emotion == TIMED, rng)
        start += float(rng.uniform(0.3, 2.0)) if utterances else 0.0
        utterances.append(
            UtterancePlan(
                clip_id=meld.clip_id(split, dialogue, index),
                split=split,
                relpath=f"{SPLIT_FOLDERS[split]}/dia{dialogue}_utt{index}.mp4",
                dialogue=dialogue,
                utterance=index,
                speaker=speaker,
                text=text,
                word=word,
                word_emotion=word_emotion,
                emotion=emotion,
                sentiment=sentiment,
                duration_s=duration,
                start_s=round(start, 3),
                season=season,
                episode=episode,
                hidden=hidden,
                cue_s=cue_s,
                change_s=change_s,
                media_seed=int(rng.integers(2**63)),
            )
        )
        start += duration
    return utterances


def _text(emotion: str, rng: np.random.Generator) -> tuple[str, str, str]:
    """(word, its emotion, the utterance's text): filler around an emotion word, or filler alone,
    with the cue word ("oh") between two of its words, or first or last."""
    draw = rng.random()
    worded = list(WORDS)
    word_emotion = emotion if draw < WORD_P and emotion in WORDS else worded[rng.integers(len(worded))] if WORD_P <= draw < WORD_P + STRAY_P else ""
    filler = FILLER[rng.integers(len(FILLER))]
    word = WORDS[word_emotion][rng.integers(len(WORDS[word_emotion]))] if word_emotion else ""
    first, *rest = [filler] if not word else [word, filler] if rng.random() < 0.5 else [filler, word]
    pieces = first.split(" ") + [piece for part in rest for piece in part.split(" ")]
    if rest:
        pieces[len(first.split(" ")) - 1] += ","
    pieces.insert(int(rng.integers(len(pieces) + 1)), CUE["word"])
    return word, word_emotion, f"{_initial(' '.join(pieces))}."


def _cue_times(text: str, duration: float, together: bool, rng: np.random.Generator) -> tuple[float, float]:
    """(centre of the cue word, centre of the voice change) in seconds; see `CUE`."""
    words = spoken_words(text)
    centres = [(a + b) / 2 for a, b in spoken_spans(words, duration)]
    cue = centres[words.index(CUE["word"])]
    if together:
        return round(cue, 4), round(cue, 4)
    apart = [c for c in centres if abs(c - cue) >= CUE["apart_s"]]
    change = apart[rng.integers(len(apart))] if apart else max(centres, key=lambda c: abs(c - cue))
    return round(cue, 4), round(change, 4)


def spoken_spans(words: list[str], duration: float) -> list[tuple[float, float]]:
    """(start, end) of each spoken word of an utterance of `duration` seconds (see `CUE`)."""
    return even_pace(words, CUE["lead_s"], duration - CUE["lead_s"], pause_s=CUE["pause_s"])


def _initial(text: str) -> str:
    return text[0].upper() + text[1:]


def _word_probability(word_emotion: str, emotion: str) -> float:
    """P(the text's word is of `word_emotion` | the utterance's `emotion`); "" is no word."""
    own = WORD_P if emotion in WORDS else 0.0
    if not word_emotion:
        return 1.0 - own - STRAY_P
    return own * (word_emotion == emotion) + STRAY_P / len(WORDS)


# --- files ------------------------------------------------------------------------------------


def _timestamp(seconds: float) -> str:
    """MELD's StartTime/EndTime format, such as 00:16:16,059."""
    hours, rest = divmod(round(seconds * 1000), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def _write_csv(path: Path, utterances: list[UtterancePlan], encoding: str) -> None:
    """One split's CSV with MELD's columns, "Sr No." counting rows from 1."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(meld.CSV_COLUMNS)
    for number, u in enumerate(utterances, start=1):
        row = [number, u.text, u.speaker, u.emotion, u.sentiment, u.dialogue, u.utterance, u.season, u.episode]
        writer.writerow(row + [_timestamp(u.start_s), _timestamp(u.start_s + u.duration_s)])
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.getvalue().encode(encoding))


def _render(path: Path, u: UtterancePlan, params: Mapping) -> None:
    """Render and encode one utterance to `path` (atomically): the voice, and the face over gray."""
    rng = np.random.default_rng([u.media_seed, 0])
    t = np.arange(round(u.duration_s * AUDIO_RATE)) / AUDIO_RATE
    words = sum(window(t, start, end) for start, end in spoken_spans(spoken_words(u.text), u.duration_s))
    change = window(t, u.change_s - CUE["change_s"] / 2, u.change_s + CUE["change_s"] / 2)
    sound = over_background(_voice(t, u.hidden, rng, words=words, change=change), rng, channels=2)
    frames = face_frames(
        round(u.duration_s * params["fps"]),
        fps=params["fps"],
        width=params["width"],
        height=params["height"],
        brightness=u.hidden["brightness"],
        hue=u.hidden["hue"] % 360,
        motion=u.hidden["sway"] * params["width"],
        rng=np.random.default_rng([u.media_seed, 1]),
    )
    with tempfile.TemporaryDirectory(prefix="synth-") as scratch, atomic_path(path) as tmp:
        wav = Path(scratch) / "audio.wav"
        sf.write(wav, sound, AUDIO_RATE, subtype="FLOAT")
        _encode(frames, wav, tmp, params)
