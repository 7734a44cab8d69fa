"""A synthetic audio-emotion challenge: a folder of wav and mp3 files, a labelled train.csv and an
unlabelled test.csv, with a known answer.

Four emotions, each setting the voice (`synthetic_emotion`); files of 2-6 s at 16 to 48 kHz,
mono or stereo, named by a random hex id as challenges name them. ground_truth.json holds every
file's emotion, the unlabelled ones' too. Everything follows from the seed; bit-exact encoding.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from impressions.data.synthetic import _claim
from impressions.data.synthetic_emotion import NOISE, VOICES, draw_voice, write_audio
from impressions.io.atomic import atomic_path, write_json

EMOTIONS = {"neutral": "neutral", "happy": "joy", "sad": "sadness", "angry": "anger"}
"""The table's classes -> the voice (`synthetic_emotion.VOICES`) each one speaks with."""
TABLES = {"train": "train.csv", "test": "test.csv"}
DATASET = {"kind": "table", "table": {"files": list(TABLES.values()), "path_column": "file", "label_columns": ["emotion"], "split_column": ""}}
"""The `dataset` settings the table adapter reads the generated files with (split fractions and seed from config)."""
RATES = (16000, 22050, 44100, 48000)
PARAM_KEYS = ("seed", "n_files")


@dataclass(frozen=True)
class FilePlan:
    """One audio file, known before it exists; `table` is the CSV that names it."""

    table: str
    relpath: str
    emotion: str
    duration_s: float
    sample_rate: int
    channels: int
    voice: dict
    media_seed: int

    @property
    def split(self) -> str:
        """Unknown until the sheet splits the labelled rows (the unlabelled ones are to predict)."""
        return ""


def plan(params: Mapping) -> list[FilePlan]:
    """Every file, train.csv's then test.csv's (cheap: no media)."""
    _check(params)
    files = []
    for table_index, table in enumerate(TABLES):
        for index in range(params["n_files"][table]):
            rng = np.random.default_rng([params["seed"], table_index, index])
            emotion = str(list(EMOTIONS)[index % len(EMOTIONS)])  # balanced classes, as challenges curate them
            extension = "wav" if rng.random() < 0.5 else "mp3"
            files.append(
                FilePlan(
                    table=table,
                    relpath=f"clips/{rng.bytes(4).hex()}.{extension}",
                    emotion=emotion,
                    duration_s=round(float(rng.uniform(2.0, 6.0)), 2),
                    sample_rate=int(rng.choice(RATES)),
                    channels=int(rng.integers(1, 3)),
                    voice=draw_voice(EMOTIONS[emotion], rng),
                    media_seed=int(rng.integers(2**31)),
                )
            )
    names = [f.relpath for f in files]
    if len(set(names)) != len(names):
        raise ValueError(f"two synthetic files drew the same name with seed={params['seed']}; choose another seed")
    return files


def output_files(params: Mapping) -> list[str]:
    return [f.relpath for f in plan(params)] + list(TABLES.values()) + ["ground_truth.json"]


def generate(root: str | Path, params: Mapping, *, threads: int = 1, log: Callable[[str], object] = print) -> None:
    """Write the dataset under `root`: ground_truth.json first (it marks the folder), the tables, the files."""
    root = Path(root)
    files = plan(params)
    _claim(root)
    write_json(root / "ground_truth.json", ground_truth(files, params))
    for table, name in TABLES.items():
        rows = [[f.relpath, f.emotion] if table == "train" else [f.relpath] for f in files if f.table == table]
        _write_csv(root / name, ["file", "emotion"] if table == "train" else ["file"], rows)
    log(f"synthetic table: encoding {len(files)} files into {root} with {threads} threads")

    def render(item):
        number, f = item
        write_audio(root / f.relpath, f.duration_s, f.voice, f.media_seed, sample_rate=f.sample_rate, channels=f.channels)
        log(f"[{number}/{len(files)}] {f.relpath} {f.duration_s:.1f} s {f.emotion}")

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(render, enumerate(files, start=1)))


def ground_truth(files: list[FilePlan], params: Mapping) -> dict:
    """The generating rule and every file's emotion and hidden values (the unlabelled files' too)."""
    return {
        "kind": "table",
        "params": {key: params[key] for key in PARAM_KEYS},
        "rule": {"classes": EMOTIONS, "voices": {c: VOICES[v] for c, v in EMOTIONS.items()}, "noise": NOISE},
        "files": {f.relpath: {k: v for k, v in asdict(f).items() if k not in ("relpath", "media_seed")} for f in files},
    }


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows([header, *rows])
    with atomic_path(path) as tmp:
        tmp.write_text(text.getvalue())


def _check(params: Mapping) -> None:
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"synthetic.table: missing {missing}")
    if any(not isinstance(params["n_files"].get(t), int) or params["n_files"][t] < 1 for t in TABLES):
        raise ValueError(f"synthetic.table.n_files needs a count of at least 1 for train and test, got {params['n_files']}")
