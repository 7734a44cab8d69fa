"""A synthetic audio-emotion challenge: a folder of wav and mp3 files, a labelled train.csv and an
unlabelled test.csv, with a known answer.

Four classes, each setting the voice around its means (`HIDDEN`): pitch, syllable rate, loudness
and spectral tilt. The files are 2-6 s long, wav (16-bit PCM, 16-48 kHz) or mp3 (22-48 kHz),
mono or stereo, named by a random hex id as challenges name them; the CSVs list them in name
order, so a row's place tells nothing of its class. ground_truth.json holds every file's class,
the unlabelled ones' too, the rule, and the accuracy of the majority class (baseline) and of the
Bayes classifier that sees the hidden values (ceiling), per table.

Everything follows from the seed: each file draws from a random stream of its own (seed, table,
index), so growing a table changes no earlier file; the audio is encoded bit-exact.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import soundfile as sf

from impressions import __version__
from impressions.data.ground_truth import GROUND_TRUTH
from impressions.data.kinds import table as table_kind
from impressions.data.synthetic import _claim, _is_int, _remove_stale_clips, _render_all, _rounded
from impressions.data.synthetic_media import AUDIO_RATE, _voice, class_scores, draw_values, log_likelihoods, over_background
from impressions.io.atomic import atomic_path, write_json

TABLES = {"train": "train.csv", "test": "test.csv"}
"""Table -> its CSV, relative to the dataset root: train.csv has columns file,emotion; test.csv only file."""
FOLDER = "clips"
"""Folder of the audio files, relative to the dataset root."""
DATASET = {"kind": "table", "table": {"files": list(TABLES.values()), "path_column": "file", "label_columns": ["emotion"], "split_column": ""}}
"""The `dataset` settings the table adapter reads the generated files with (split fractions and seed from config)."""

PARAM_KEYS = ("seed", "n_files")
"""Keys of `params` (config.yaml's `synthetic.table` with `synthetic.seed`; other keys are ignored)."""

CLASSES = ("neutral", "happy", "sad", "angry")
"""The classes; file i of a table has class i mod 4, so every table is balanced."""
HIDDEN = {
    "pitch": {
        "media": "voice f0, 1% vibrato",
        "unit": "Hz",
        "scale": "log",
        "sd": 0.14,
        "mean": {"neutral": 140.0, "happy": 195.0, "sad": 122.0, "angry": 170.0},
    },
    "syllable_rate": {
        "media": "syllable bursts per second",
        "unit": "Hz",
        "scale": "log",
        "sd": 0.21,
        "mean": {"neutral": 3.6, "happy": 4.5, "sad": 2.8, "angry": 5.0},
    },
    "loudness": {
        "media": "voice RMS level",
        "unit": "dBFS",
        "scale": "linear",
        "sd": 3.5,
        "mean": {"neutral": -32.5, "happy": -29.0, "sad": -36.5, "angry": -26.0},
    },
    "tilt": {
        "media": "spectral tilt: harmonic k has amplitude k**-tilt (smaller is brighter)",
        "unit": "exponent",
        "scale": "linear",
        "sd": 0.21,
        "mean": {"neutral": 1.25, "happy": 0.95, "sad": 1.6, "angry": 0.75},
    },
}
"""The hidden voice values of a file: drawn around its class's means (see `synthetic_media.draw_values`)."""
RATES = {"wav": (16000, 22050, 44100, 48000), "mp3": (22050, 44100, 48000)}
"""Sample rates per format; no 16 kHz mp3, whose encoder delay and padding reach 0.1 s."""
DURATION_RANGE_S = (2.0, 6.0)

_AUDIO_FILE = re.compile(r"^[0-9a-f]{8}\.(wav|mp3)$")
_CODECS = {"wav": ["-c:a", "pcm_s16le"], "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"]}


@dataclass(frozen=True)
class FilePlan:
    """Everything about one audio file that is known before it exists.

    Attributes
    ----------
    table : the CSV that names it ("train.csv" labelled, "test.csv" not)
    relpath : "clips/<8 hex digits>.<wav or mp3>", relative to the dataset root
    clip_id : the table kind's id of the file (its path without extension, "/" made "_")
    emotion : its class, one of `CLASSES` (in the CSV only for train.csv)
    duration_s : length of its audio (whole milliseconds)
    sample_rate, channels : its format (channels 1 or 2)
    hidden : the hidden voice values, keyed by `HIDDEN`
    media_seed : seed of its audio noise
    """

    table: str
    relpath: str
    clip_id: str
    emotion: str
    duration_s: float
    sample_rate: int
    channels: int
    hidden: dict[str, float]
    media_seed: int

    @property
    def split(self) -> str:
        """Always "": the sheet splits train.csv's rows and makes test.csv's the predict split."""
        return ""


def plan(params: Mapping) -> list[FilePlan]:
    """List every file, train.csv's then test.csv's, without making any audio.

    Cheap enough to run while Snakemake builds its DAG.

    Parameters
    ----------
    params : keys `PARAM_KEYS` (the schema's `synthetic` section gives each a default)

    Returns
    -------
    list[FilePlan]
    """
    _check_params(params)
    files = [_plan_file(params, table_index, index) for table_index, table in enumerate(TABLES) for index in range(params["n_files"][table])]
    names = [f.relpath for f in files]
    if len(set(names)) != len(names):
        raise ValueError(f"two synthetic files drew the same name with seed={params['seed']}; choose another seed")
    return files


def output_files(params: Mapping) -> list[str]:
    """Paths, relative to the dataset root, of every file `generate` writes."""
    return [f.relpath for f in plan(params)] + list(TABLES.values()) + [GROUND_TRUTH]


def generate(root: str | Path, params: Mapping, *, threads: int = 1, log: Callable[[str], object] = print) -> None:
    """Write the whole dataset under `root`: the audio files in clips/, train.csv, test.csv, ground_truth.json.

    `root` must be new, hold no files, or hold an earlier synthetic dataset (which is replaced,
    its files that are no longer planned removed). ground_truth.json is written first: it marks
    the folder as synthetic, so a run that dies half-way may be rerun over it.

    Parameters
    ----------
    root : folder of the dataset (created)
    params : keys `PARAM_KEYS`
    threads : files encoded at the same time
    log : receives one progress line per file

    Raises
    ------
    ValueError : if `root` holds files but no ground_truth.json (it could be real data)
    """
    root = Path(root)
    files = plan(params)
    _claim(root)
    write_json(root / GROUND_TRUTH, ground_truth(files, params))
    _remove_stale_clips(root, files, log, folders=[FOLDER], pattern=_AUDIO_FILE)
    for key, name in TABLES.items():
        _write_csv(root / name, sorted((f for f in files if f.table == name), key=lambda f: f.relpath), labelled=key == "train")
    log(f"synthetic audio table: encoding {len(files)} files into {root} with {threads} threads")
    _render_all(files, lambda f: _render(root / f.relpath, f), threads=threads, log=log)


def bayes_posterior(hidden: Mapping[str, float]) -> dict[str, float]:
    """P(class | hidden values), classes equally likely: the best any classifier of the audio can do.

    Returns
    -------
    dict: class -> posterior probability, for every class of `CLASSES`
    """
    likelihood = log_likelihoods(HIDDEN, hidden, CLASSES)
    log_posterior = np.array([likelihood[c] for c in CLASSES])
    posterior = np.exp(log_posterior - log_posterior.max())
    return dict(zip(CLASSES, map(float, posterior / posterior.sum())))


def reference_metrics(files: list[FilePlan]) -> dict[str, dict[str, dict[str, float]]]:
    """The baseline (train.csv's most frequent class) and ceiling (`bayes_posterior`) per table.

    Returns
    -------
    dict: {table: {"baseline" | "ceiling": {"accuracy", "weighted_f1"}}}
    """
    majority = Counter(f.emotion for f in files if f.table == TABLES["train"]).most_common(1)[0][0]
    result = {}
    for name in TABLES.values():
        truth = [f.emotion for f in files if f.table == name]
        bayes = [max(p, key=p.get) for p in (bayes_posterior(f.hidden) for f in files if f.table == name)]
        result[name] = {"baseline": class_scores(truth, [majority] * len(truth)), "ceiling": class_scores(truth, bayes)}
    return result


def ground_truth(files: list[FilePlan], params: Mapping) -> dict:
    """The content of ground_truth.json: the generating rule, the yardsticks and every file's class and hidden values."""
    rule = {
        "classes": list(CLASSES),
        "assignment": "file i of a table has class i mod 4 (balanced); the CSVs list files in name order",
        "hidden": HIDDEN,
        "hidden_distribution": "per file, independently: a 'log' value is mean[class] * exp(sd z), a 'linear' one mean[class] + sd z, z ~ N(0, 1)",
        "posterior": "per file, the Bayes classifier's P(emotion | hidden), keyed by the label column",
        "bayes": "P(c | hidden) ∝ prod_v N(x_v; m_v[c], sd_v), x_v and m_v on the log scale for 'log' values (classes equally likely)",
        "nuisance": f"per file, apart from the class: wav or mp3 (each half the time), the sample rate (uniform among {RATES}), mono or stereo "
        f"(each half the time), the duration (uniform in {list(DURATION_RANGE_S)} s)",
        "media": f"rendered at {AUDIO_RATE} Hz: harmonics k**-tilt of the pitch, in syllables at syllable_rate, at the loudness, over -60 dBFS noise "
        "(a second channel 0.5 dB quieter with its own noise); resampled by ffmpeg; wav 16-bit PCM, mp3 128 kb/s",
    }
    per_file = {
        f.relpath: {
            "clip_id": f.clip_id,
            "table": f.table,
            "labelled": f.table == TABLES["train"],
            "emotion": f.emotion,
            "duration_s": f.duration_s,
            "sample_rate": f.sample_rate,
            "channels": f.channels,
            "hidden": f.hidden,
            "posterior": {"emotion": bayes_posterior(f.hidden)},
        }
        for f in files
    }
    content = {
        "generator": f"impressions.data.synthetic_table {__version__}",
        "kind": "table",
        "seed": params["seed"],
        "params": {key: params[key] for key in PARAM_KEYS},
        "rule": rule,
        "tables": reference_metrics(files),
        "files_per_table": {name: sum(f.table == name for f in files) for name in TABLES.values()},
        "files": per_file,
    }
    return _rounded(content)


# --- planning ---------------------------------------------------------------------------------


def _check_params(params: Mapping) -> None:
    """Validate `params` at the boundary, saying which value is wrong and what is allowed."""
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"synthetic audio-table params lack {missing}; they need {list(PARAM_KEYS)}")
    problems = []
    counts = params["n_files"]
    if not isinstance(counts, Mapping) or sorted(counts) != sorted(TABLES) or not all(_is_int(v, 1) for v in counts.values()):
        problems.append(f"n_files={counts!r} must map each of {list(TABLES)} to an integer >= 1")
    if not _is_int(params["seed"], 0):
        problems.append(f"seed={params['seed']!r} must be an integer >= 0")
    if problems:
        raise ValueError("invalid synthetic audio-table params: " + "; ".join(problems))


def _plan_file(params: Mapping, table_index: int, index: int) -> FilePlan:
    """Draw one file from its own stream, always in the same order: name, format, length, voice, seed."""
    rng = np.random.default_rng([params["seed"], table_index, index])
    emotion = CLASSES[index % len(CLASSES)]
    name = rng.bytes(4).hex()
    extension = "wav" if rng.random() < 0.5 else "mp3"
    relpath = f"{FOLDER}/{name}.{extension}"
    return FilePlan(
        table=list(TABLES.values())[table_index],
        relpath=relpath,
        clip_id=table_kind.clip_id(relpath),
        emotion=emotion,
        sample_rate=int(rng.choice(RATES[extension])),
        channels=int(rng.integers(1, 3)),
        duration_s=round(float(rng.uniform(*DURATION_RANGE_S)), 3),
        hidden=draw_values(HIDDEN, emotion, rng),
        media_seed=int(rng.integers(2**63)),
    )


# --- files ------------------------------------------------------------------------------------


def _write_csv(path: Path, files: list[FilePlan], *, labelled: bool) -> None:
    """A table of files (UTF-8): columns file,emotion when `labelled`, else file alone."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["file", "emotion"] if labelled else ["file"])
    writer.writerows([f.relpath, f.emotion] if labelled else [f.relpath] for f in files)
    with atomic_path(path) as tmp:
        tmp.write_text(text.getvalue(), encoding="utf-8")


def _render(path: Path, f: FilePlan) -> None:
    """Render one file's voice at `AUDIO_RATE` and encode it bit-exact to `path` (atomically) at its rate."""
    rng = np.random.default_rng([f.media_seed, 0])
    t = np.arange(round(f.duration_s * AUDIO_RATE)) / AUDIO_RATE
    sound = over_background(_voice(t, f.hidden, rng, tilt=f.hidden["tilt"]), rng, channels=f.channels)
    extension = path.suffix[1:]
    with tempfile.TemporaryDirectory(prefix="synth-") as scratch, atomic_path(path) as tmp:
        wav = Path(scratch) / "audio.wav"
        sf.write(wav, sound, AUDIO_RATE, subtype="FLOAT")
        command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), "-ar", str(f.sample_rate), *_CODECS[extension]]
        command += ["-flags:a", "+bitexact", "-fflags", "+bitexact", "-map_metadata", "-1", "-f", extension, str(tmp)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"ffmpeg failed writing {path}: {result.stderr.strip()}")
