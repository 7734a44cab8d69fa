"""Every file on disk and every labelled id of a dataset with planted problems ends in the sheet or
in excluded.tsv with the expected reason, and no job fails (the workflow, on the chalearn kind)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import yaml

from impressions.data.clips import read_manifest
from impressions.io.cache import CacheReader
from planted import planted_bad_annotations, planted_chalearn
from planted_media import TWO_STREAM_TONES
from workflow_rules import REPO

EXPECTED = {
    # kind -> (in the manifest?, stage in excluded.tsv or None, start of the reason)
    "normal": (True, None, ""),
    "upper_ext": (True, None, ""),
    "two_audio_streams": (True, None, ""),
    "audio_only": (True, "frames", "no video stream"),
    "undecodable_video": (True, "frames", "frames could not be decoded: "),
    "undecodable_audio": (False, "wav", "audio could not be decoded: "),
    "unlabelled": (False, "sheet", "no labels: no label file of the "),
    "label_without_file": (False, "sheet", "no file: labelled in annotation_"),
    "duplicate_in_split": (False, "sheet", "duplicate clip id: the same id is also at "),
    "duplicate_across_splits": (False, "sheet", "duplicate clip id: the same id is also at "),
    "not_media": (False, "sheet", "not a clip: "),
}


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted_data")
    planted = planted_chalearn(root)
    workdir = tmp_path_factory.mktemp("planted_run")
    config = {
        "dataset": {"name": "planted", "kind": "chalearn", "root": str(root), "n_shards": 2, "min_duration_s": 2.0},
        "synthetic": {"enabled": False},
        "models": {"enabled": []},
        "spectrogram": {"seconds": 4},
        "rawwave": {"seconds": 4},
        "frames": {"per_clip": 2, "height": 36, "width": 64},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    before = {path: path.stat().st_mtime_ns for path in root.rglob("*")}
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(workdir / "config.yaml")]
    command += ["--cores", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]  # no job fails
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*")} == before  # nothing written into the user's folder
    return root, planted, workdir / "results" / "planted"


def test_every_planted_file_and_label_has_the_expected_outcome(planted_run):
    root, planted, run = planted_run
    manifest, excluded = read_manifest(run / "manifest.tsv"), read_manifest(run / "excluded.tsv")
    assert {p.kind for p in planted} == set(EXPECTED)
    for item in planted:
        in_manifest, stage, reason = EXPECTED[item.kind]
        path = f"{root}/{item.relpath}" if item.relpath else ""
        rows = excluded[(excluded["path"] == path) & (excluded["clip_id"] == (item.clip_id or ""))]
        assert ((manifest["path"] == path) & (manifest["clip_id"] == item.clip_id)).any() == in_manifest, item
        if stage is None:
            assert rows.empty, (item, rows.to_dict("records"))
        else:
            assert len(rows) == 1 and rows.iloc[0]["stage"] == stage and rows.iloc[0]["reason"].startswith(reason), (item, rows.to_dict("records"))


def test_every_file_on_disk_and_every_labelled_id_is_accounted_for(planted_run):
    root, _, run = planted_run
    sheet, excluded = read_manifest(run / "clips.tsv"), read_manifest(run / "excluded.tsv")
    on_disk = {str(path) for folder in ("train", "val", "test") for path in (root / folder).rglob("*") if path.is_file()}
    assert on_disk == set(sheet["path"]) | (set(excluded["path"]) - {""})
    labelled = set()
    for name in ("annotation_training.pkl", "annotation_validation.pkl", "annotation_test.pkl"):
        content = pickle.loads((root / name).read_bytes(), encoding="latin1")
        labelled |= {clip[: -len(".mp4")] for clip in content["openness"]}
    assert labelled <= set(sheet["clip_id"]) | set(excluded["clip_id"])


def test_the_clips_that_reach_the_caches_are_the_usable_ones(planted_run):
    root, planted, run = planted_run
    manifest = read_manifest(run / "manifest.tsv")
    by_kind = {p.kind: p for p in planted}
    usable = set(manifest["clip_id"]) | {by_kind["unlabelled"].clip_id}  # the caches are computed before labels are joined
    with_frames = usable - {by_kind["audio_only"].clip_id, by_kind["undecodable_video"].clip_id} | {by_kind["undecodable_audio"].clip_id}
    cached = {"mfcc": set(), "frames": set(), "vggish": set()}
    for family in cached:
        for shard in ("000", "001"):
            with CacheReader(run / "features" / family / f"{shard}.h5") as cache:
                cached[family] |= set(cache.clip_ids)
    assert cached["mfcc"] == cached["vggish"] == usable and cached["frames"] == with_frames
    two = manifest.set_index("clip_id").loc[by_kind["two_audio_streams"].clip_id]
    assert two["audio_streams"] == 2 and two["note"] == "2 audio streams: the first is used"
    wav, rate = sf.read(run / "wav" / two["shard"] / f"{two.name}.wav")
    peak_hz = np.abs(np.fft.rfft(wav)).argmax() * rate / len(wav)
    assert rate == 16000 and wav.ndim == 1 and abs(peak_hz - TWO_STREAM_TONES[0]) < 5  # heard through its first stream


REFUSED = {
    # kind of training pickle -> the one line the run stops with, before any job
    "pickle_runs_code": "annotation_training.pkl: the pickle asks for posix.system; annotation pickles may only hold dicts",
    "label_strings": "annotation_training.pkl: extraversion score of aaaaaaaaaaa.001.mp4 is '0.5', not a number",
    "annotation_not_a_pickle": "annotation_training.pkl: not a readable pickle",
    "annotation_unreadable": "annotation_training.pkl: cannot be read (Permission denied)",
}


@pytest.mark.parametrize("kind", REFUSED)
def test_a_label_file_that_cannot_be_used_stops_the_run_in_one_line_before_any_job(tmp_path, kind):
    if kind == "annotation_unreadable" and os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000")
    root, workdir = tmp_path / "data", tmp_path / "run"
    planted_bad_annotations(root, kind)
    workdir.mkdir()
    config = {"dataset": {"name": "bad", "kind": "chalearn", "root": str(root)}, "synthetic": {"enabled": False}, "models": {"enabled": []}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(workdir / "config.yaml")]
    result = subprocess.run([*command, "--cores", "1"], capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and output.count(REFUSED[kind]) == 1 and "Traceback" not in output, output[-3000:]
    assert not (workdir / "results").exists() and not (root / "ran").exists()  # no job started, and the pickle ran nothing
