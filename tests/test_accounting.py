"""Every file on disk and every labelled id of a dataset with planted problems ends in the sheet or
in excluded.tsv with the expected reason, and no job fails (the workflow, on the chalearn kind).

The bad-input corpus (issue 16), made by tests/planted.py, and the outcome a user gets:

    kind                                      outcome (stage in excluded.tsv: reason)
    normal, upper_ext (.MP4)                  included
    two_audio_streams                         included, heard through the first (note in the manifest)
    silence; 8, 22.05, 44.1, 48 kHz;          included
      mono, stereo, 5.1; portrait 48x64,
      odd-sized 321x241, variable frame
      rate, 1 fps, 4K (3840x2160, 1 fps)
    names with quotes, unicode, leading dash  included under their name (paths are absolute: no option)
    name with spaces                          included, the spaces '_' in its id (ids name cache files)
    audio_only, mp3 named .mp4                included; frames: no video stream (audio models only)
    undecodable_video                         included; frames: frames could not be decoded
    undecodable_audio                         wav: audio could not be decoded
    cut mid-stream (index first)              wav: audio could not be decoded: only N s of audio decoded
    zero bytes, moov missing, text as .mp4    probe: unreadable
    video_only                                probe: no audio stream
    1 s of audio                              probe: too short: audio 1.00 s < 1.5 s
    mode 000                                  included as root (root reads it); probe: unreadable otherwise
    dangling symlink                          sheet: not a clip: a link to ..., which does not exist
    folder named <id>.mp4 (labelled)          sheet: no file: labelled in annotation_test.pkl but no clip file
    notes.txt, .DS_Store                      sheet: not a clip
    same id twice in a split, or in two       sheet: duplicate clip id (every copy)
    no labels / labels without a file         sheet: no labels / no file
    label NaN, out of range, missing          sheet: invalid labels: <trait> outside [0, 1] or missing
    pickle that would run code, string        one line before any job, nothing run (REFUSED); mode 000
      labels, not a pickle, mode 000 pickle     is skipped as root
    table CSV with a BOM and cp1252 lines     included with its text (at the sheet stage, not a workflow run)
"""

import codecs
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import yaml

from impressions.data import kinds
from impressions.data.clips import read_manifest
from impressions.data.kinds import chalearn, table
from impressions.data.sheet import build_sheet
from impressions.io.cache import CacheReader
from planted import BAD_LABELS, ODD_NAMES, planted_bad_annotations, planted_chalearn
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
    "folder_named_mp4": (False, "sheet", "no file: labelled in annotation_test.pkl but no clip file was found"),
    "dangling_symlink": (False, "sheet", "not a clip: a link to "),
    "zero_bytes": (False, "probe", "unreadable: "),
    "moov_missing": (False, "probe", "unreadable: "),
    "text_named_mp4": (False, "probe", "unreadable: "),
    "cut_mid_stream": (False, "wav", "audio could not be decoded: "),
    "video_only": (False, "probe", "no audio stream"),
    "mp3_named_mp4": (True, "frames", "no video stream"),
    "unreadable_file": (True, None, "") if os.geteuid() == 0 else (False, "probe", "unreadable: "),  # root reads mode 000
    "one_second": (False, "probe", "too short: audio 1.00 s < 1.5 s"),
    "label_nan": (False, "sheet", "invalid labels: openness outside [0, 1] or missing"),
    "label_out_of_range": (False, "sheet", "invalid labels: conscientiousness outside [0, 1] or missing"),
    "label_missing": (False, "sheet", "invalid labels: interview outside [0, 1] or missing"),
    **dict.fromkeys(["silence", "rate_8k", "rate_22k", "rate_48k", "mono", "surround_51"], (True, None, "")),
    **dict.fromkeys(["portrait", "odd_size", "variable_frame_rate", "one_fps", "video_4k"], (True, None, "")),
    **dict.fromkeys(ODD_NAMES, (True, None, "")),
}


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted_data")
    planted = planted_chalearn(root)
    workdir = tmp_path_factory.mktemp("planted_run")
    config = {
        "dataset": {"name": "planted", "kind": "chalearn", "root": str(root), "n_shards": 1, "min_duration_s": 1.5},
        "synthetic": {"enabled": False},
        "models": {"enabled": []},
        "spectrogram": {"seconds": 4},
        "rawwave": {"seconds": 4},
        "frames": {"per_clip": 2, "height": 36, "width": 64},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    before = {path: path.lstat().st_mtime_ns for path in root.rglob("*")}
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(workdir / "config.yaml")]
    command += ["--cores", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]  # no job fails
    assert {path: path.lstat().st_mtime_ns for path in root.rglob("*")} == before  # nothing written into the user's folder
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
    on_disk = {str(path) for folder in ("train", "val", "test") for path in (root / folder).rglob("*") if path.is_file() or path.is_symlink()}
    assert on_disk == set(sheet["path"]) | (set(excluded["path"]) - {""})
    labelled = set()
    for name in ("annotation_training.pkl", "annotation_validation.pkl", "annotation_test.pkl"):
        content = pickle.loads((root / name).read_bytes(), encoding="latin1")
        labelled |= {chalearn.clip_id(clip.encode("latin1").decode("utf-8")[: -len(".mp4")]) for clip in content["openness"]}  # UTF-8 bytes, as Python 2 wrote
    assert labelled <= set(sheet["clip_id"]) | set(excluded["clip_id"])


def test_the_clips_that_reach_the_caches_are_the_usable_ones(planted_run):
    root, planted, run = planted_run
    manifest = read_manifest(run / "manifest.tsv")
    by_kind = {p.kind: p for p in planted}
    unusable_labels = {by_kind[kind].clip_id for kind in ("unlabelled", *BAD_LABELS)}
    usable = set(manifest["clip_id"]) | unusable_labels  # the caches are computed before labels are joined
    no_video = {by_kind[kind].clip_id for kind in ("audio_only", "undecodable_video", "mp3_named_mp4")}
    with_frames = usable - no_video | {by_kind["undecodable_audio"].clip_id}
    cached = {"mfcc": set(), "frames": set(), "vggish": set()}
    for family in cached:
        with CacheReader(run / "features" / family / "000.h5") as cache:  # one shard: each job's start costs more than its clips
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


def test_a_table_with_a_byte_order_mark_and_cp1252_lines_gives_each_file_its_row(tmp_path):
    """The table kind's corpus entry, at the sheet stage: its workflow runs in test_workflow_kinds."""
    for relpath in ("clips/café.wav", "clips/a b.wav", "clips/Zoë.mp3"):
        (tmp_path / relpath).parent.mkdir(exist_ok=True)
        (tmp_path / relpath).write_bytes(b"")
    lines = "file,emotion,split,speaker\nclips/a b.wav,happy,train,Ann\n".encode() + "clips/café.wav,sad,test,Zoë’s\n".encode("cp1252")
    (tmp_path / "labels.csv").write_bytes(codecs.BOM_UTF8 + lines)  # Excel's UTF-8 with a BOM, a line pasted from cp1252
    columns = {"files": ["labels.csv"], "path_column": "file", "label_columns": ["emotion"], "split_column": "split"}
    dataset = {"table": {**columns, "split_fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 0}}
    labels, reasons = table.read_labels(tmp_path, dataset)
    sheet, excluded = build_sheet(kinds.listing("table", str(tmp_path), dataset), labels, reasons, by_split=False)
    assert sheet[["clip_id", "split", "emotion", "speaker"]].to_dict("records") == [
        {"clip_id": "clips_a_b", "split": "train", "emotion": "happy", "speaker": "Ann"},
        {"clip_id": "clips_caf_", "split": "test", "emotion": "sad", "speaker": "Zoë’s"},
    ]
    assert excluded[["clip_id", "reason"]].to_dict("records") == [{"clip_id": "clips_Zo_", "reason": "no labels: no label file of the dataset lists it"}]
