"""The fixtures of tests/planted.py and tests/planted_media.py do what they claim: checked against
bytes Python 2.7 wrote, with pickletools, with ffprobe and with the package's own decoders."""

import io
import json
import os
import pickle
import pickletools
import random
import re
import subprocess

import ffmpeg
import numpy as np
import pytest
import soundfile as sf

from impressions import LABELS
from impressions.data.annotations import load_annotations
from impressions.data.kinds import chalearn
from impressions.data.media import MediaError, decode_wav, probe, sample_frames
from planted import ANNOTATIONS, BAD_LABELS, ODD_MEDIA, ODD_NAMES, planted_chalearn, py2_pickle
from planted_media import (
    TWO_STREAM_TONES,
    UNKNOWN_FOURCC,
    make_audio_only_mp4,
    make_clip,
    make_text_as_mp4,
    make_truncated,
    make_two_audio_streams,
    make_undecodable_audio,
    make_undecodable_video,
)

CONTENT = {
    "interview": {"-bcdefghijk.002.mp4": 0.0, "abcdefghijk.001.mp4": 0.5},
    "openness": {"-bcdefghijk.002.mp4": 1 / 3, "abcdefghijk.001.mp4": 0.123456789},
}
PYTHON2_WROTE = {
    # (protocol, shared_names) -> what Python 2.7.18's cPickle.dumps wrote for CONTENT, built as the docstring says
    (2, True): b"\x80\x02}q\x01(U\tinterviewq\x02}q\x03(U\x13-bcdefghijk.002.mp4q\x04G\x00\x00\x00\x00\x00\x00\x00\x00U\x13abcdefghijk.001.mp4q\x05"
    b"G?\xe0\x00\x00\x00\x00\x00\x00uU\x08opennessq\x06}q\x07(h\x04G?\xd5UUUUUUh\x05G?\xbf\x9a\xdd79c_uu.",
    (0, True): b"(dp1\nS'interview'\np2\n(dp3\nS'-bcdefghijk.002.mp4'\np4\nF0\nsS'abcdefghijk.001.mp4'\np5\nF0.5\nssS'openness'\np6\n(dp7\n"
    b"g4\nF0.33333333333333331\nsg5\nF0.123456789\nss.",
    (2, False): b"\x80\x02}q\x01(U\tinterviewq\x02}q\x03(U\x13-bcdefghijk.002.mp4G\x00\x00\x00\x00\x00\x00\x00\x00U\x13abcdefghijk.001.mp4"
    b"G?\xe0\x00\x00\x00\x00\x00\x00uU\x08opennessq\x04}q\x05(U\x13-bcdefghijk.002.mp4G?\xd5UUUUUUU\x13abcdefghijk.001.mp4G?\xbf\x9a\xdd79c_uu.",
}


@pytest.mark.parametrize("protocol, shared_names", sorted(PYTHON2_WROTE))
def test_py2_pickle_writes_what_python2_wrote(protocol, shared_names):
    data = py2_pickle(CONTENT, protocol, shared_names=shared_names)
    assert data == PYTHON2_WROTE[protocol, shared_names]
    assert pickle.loads(data, encoding="latin1") == CONTENT


PYTHON2_DUMP = """
import cPickle, json, sys
spec = json.load(sys.stdin)
labels = [str(label) for label, _ in spec["content"]]  # kept alive, as literals in a script are
names = dict((str(name), str(name)) for _, items in spec["content"] for name, _ in items)
make = (lambda name: names[name]) if spec["shared"] else str
content = dict((labels[i], dict((make(str(n)), float(v)) for n, v in items)) for i, (_, items) in enumerate(spec["content"]))
del names
sys.stdout.write(cPickle.dumps(content, spec["protocol"]))
"""


def test_py2_pickle_matches_a_live_python2_on_every_batch_and_memo_edge():
    python2 = os.environ.get("PYTHON2", "python2.7")
    try:
        subprocess.run([python2, "-c", "import cPickle"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"no Python 2.7 at {python2!r}; set PYTHON2 to one to compare with a live cPickle")
    rng = random.Random(1)
    cases = [[], [0], [1], [1, 1], [2, 0, 1], [999], [1000], [1001, 3], [2000], [1] * 6, [300] * 6]
    for sizes in cases:
        content = [[f"label{i}", [[f"{j:011d}.{i % 3:03d}.mp4", rng.random()] for j in range(n)]] for i, n in enumerate(sizes)]
        content.append(["long", [["k" * 300, 0.25]]])  # a name past 255 bytes: BINSTRING
        for protocol in (0, 2):
            for shared in (True, False):
                spec = json.dumps({"content": content, "protocol": protocol, "shared": shared}).encode()
                wrote = subprocess.run([python2, "-c", PYTHON2_DUMP], input=spec, capture_output=True, check=True).stdout
                in_python2_order = pickle.loads(wrote, encoding="latin1")
                assert py2_pickle(in_python2_order, protocol, shared_names=shared) == wrote, (sizes, protocol, shared)


def ids(count: int) -> list[str]:
    return [f"{i:05d}abcdef.{i % 1000:03d}.mp4" for i in range(count)]


@pytest.mark.parametrize("protocol", [0, 2])
def test_py2_pickle_of_a_realistic_file_disassembles_and_reads_back_exactly(protocol):
    rng = random.Random(0)
    content = {label: {name: rng.random() for name in ids(300)} for label in LABELS}
    content["openness"]["00000abcdef.000.mp4"] = 1 / 3
    data = py2_pickle(content, protocol)
    listing = io.StringIO()
    pickletools.dis(data, out=listing)  # checks the stack, the marks and every memo index
    ops = {op.name for op, _, _ in pickletools.genops(data)}
    if protocol == 2:
        assert ops == {"PROTO", "EMPTY_DICT", "BINPUT", "LONG_BINPUT", "MARK", "SHORT_BINSTRING", "BINFLOAT", "BINGET", "LONG_BINGET", "SETITEMS", "STOP"}
    else:
        assert ops == {"MARK", "DICT", "PUT", "STRING", "FLOAT", "GET", "SETITEM", "STOP"}
        assert b"F0.33333333333333331\n" in data  # cPickle's %.17g, which still reads back exactly
    loaded = pickle.loads(data, encoding="latin1")
    assert loaded == content and list(loaded) == list(LABELS)
    assert all(type(k) is str and type(v) is float for scores in loaded.values() for k, v in scores.items())


@pytest.mark.parametrize("count, batches, single", [(1, 0, 1), (999, 1, 0), (1000, 2, 0), (1001, 2, 0), (2500, 3, 0)])
def test_py2_pickle_batches_items_as_cpickle_does(count, batches, single):
    """A one-item dict gets SETITEM; otherwise MARK ... SETITEMS per 1000, and after a full last
    batch an empty one (cPickle's do-while loop)."""
    data = py2_pickle({"openness": dict.fromkeys(ids(count), 0.5)}, 2)
    ops = [op.name for op, _, _ in pickletools.genops(data)]
    assert ops.count("SETITEMS") == batches and ops.count("SETITEM") == 1 + single  # + the outer dict's
    assert pickle.loads(data, encoding="latin1") == {"openness": dict.fromkeys(ids(count), 0.5)}


def test_py2_pickle_takes_only_the_protocols_python2_users_wrote():
    with pytest.raises(ValueError, match="protocol must be 0 or 2"):
        py2_pickle(CONTENT, 1)


def test_a_python2_annotation_pickle_loads_to_the_same_labels(tmp_path):
    content = {label: {"abcdefghijk.001.mp4": 0.25 + i / 10, "-bcdefghijk.002.mp4": 0.75 - i / 10} for i, label in enumerate(LABELS)}
    (tmp_path / "a.pkl").write_bytes(py2_pickle(content, 2))
    frame = load_annotations(tmp_path / "a.pkl")
    assert list(frame.index) == ["-bcdefghijk.002", "abcdefghijk.001"]
    for i, label in enumerate(LABELS):
        assert frame.loc["abcdefghijk.001", label] == 0.25 + i / 10 and frame.loc["-bcdefghijk.002", label] == 0.75 - i / 10


def streams(path) -> list[tuple[str, str]]:
    return [(s["codec_type"], s["codec_tag_string"]) for s in ffmpeg.probe(str(path))["streams"]]


def peak_hz(path) -> float:
    wave, rate = sf.read(path)
    return np.abs(np.fft.rfft(wave)).argmax() * rate / len(wave)


def test_a_normal_clip_is_small_h264_and_aac_and_the_same_bytes_each_time(tmp_path):
    make_clip(tmp_path / "a.mp4", seconds=3.0)
    make_clip(tmp_path / "b.mp4", seconds=3.0)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert streams(tmp_path / "a.mp4") == [("video", "avc1"), ("audio", "mp4a")]
    found = probe(tmp_path / "a.mp4")
    assert (found.width, found.height, found.fps, found.audio_rate, found.audio_channels) == (64, 48, 10.0, 44100, 2)
    assert abs(found.duration_s - 3.0) < 0.1 and abs(found.audio_duration_s - 3.0) < 0.1
    decode_wav(tmp_path / "a.mp4", tmp_path / "a.wav")
    assert abs(peak_hz(tmp_path / "a.wav") - 440.0) < 5
    assert sample_frames(tmp_path / "a.mp4", duration_s=3.0, count=2, height=24, width=32).shape == (2, 24, 32, 3)


def test_undecodable_audio_probes_but_does_not_decode(tmp_path):
    path = tmp_path / "a.mp4"
    make_undecodable_audio(path, seconds=3.0)
    assert streams(path) == [("video", "avc1"), ("audio", UNKNOWN_FOURCC.decode())]
    found = probe(path)
    assert found.has_audio and found.has_video and abs(found.audio_duration_s - 3.0) < 0.1
    command = ["ffmpeg", "-nostdin", "-y", "-i", str(path), "-vn", "-ac", "1", "-ar", "16000", str(tmp_path / "out.wav")]
    assert subprocess.run(command, capture_output=True).returncode != 0
    with pytest.raises(MediaError, match=r"a\.mp4: Decoder .*not found"):
        decode_wav(path, tmp_path / "a.wav")
    sample_frames(path, duration_s=3.0, count=2, height=24, width=32)  # its video is fine


def test_undecodable_video_probes_and_its_audio_decodes(tmp_path):
    path = tmp_path / "v.mp4"
    make_undecodable_video(path, seconds=3.0)
    assert streams(path) == [("video", UNKNOWN_FOURCC.decode()), ("audio", "mp4a")]
    assert probe(path).has_audio and probe(path).has_video
    decode_wav(path, tmp_path / "v.wav")
    assert abs(sf.info(tmp_path / "v.wav").duration - 3.0) < 0.1
    with pytest.raises(MediaError, match=r"v\.mp4: Decoder .*not found"):
        sample_frames(path, duration_s=3.0, count=2, height=24, width=32)


def test_audio_only_and_two_stream_clips(tmp_path):
    make_audio_only_mp4(tmp_path / "a.mp4", seconds=3.0)
    assert streams(tmp_path / "a.mp4") == [("audio", "mp4a")]
    two = tmp_path / "two.mp4"
    make_two_audio_streams(two, seconds=3.0)
    assert [kind for kind, _ in streams(two)] == ["video", "audio", "audio"] and probe(two).audio_streams == 2
    decode_wav(two, tmp_path / "first.wav")  # the first audio stream, as the wav stage takes it
    ffmpeg.input(str(two))["a:1"].output(str(tmp_path / "second.wav"), ac=1).run(quiet=True)
    assert abs(peak_hz(tmp_path / "first.wav") - TWO_STREAM_TONES[0]) < 5 and abs(peak_hz(tmp_path / "second.wav") - TWO_STREAM_TONES[1]) < 5


def test_truncated_and_text_files_do_not_probe(tmp_path):
    make_truncated(tmp_path / "t.mp4", seconds=3.0)
    make_text_as_mp4(tmp_path / "x.mp4")
    with pytest.raises(ffmpeg.Error) as error:
        ffmpeg.probe(str(tmp_path / "t.mp4"))
    assert b"moov atom not found" in error.value.stderr
    for name in ("t.mp4", "x.mp4"):
        with pytest.raises(MediaError, match="Invalid data found when processing input"):
            probe(tmp_path / name)


KINDS = {
    # kind -> how many Planted
    "normal": 12,
    "upper_ext": 1,
    "unlabelled": 1,
    "label_without_file": 1,
    "duplicate_in_split": 2,
    "duplicate_across_splits": 2,
    "undecodable_audio": 1,
    "undecodable_video": 1,
    "two_audio_streams": 1,
    "audio_only": 1,
    "not_media": 2,
    "folder_named_mp4": 1,
    **dict.fromkeys([*ODD_MEDIA, *ODD_NAMES, *BAD_LABELS], 1),
}
ODD_PROBES = {
    # kind -> what ffprobe says of it
    "rate_8k": {"audio_rate": 8000},
    "rate_22k": {"audio_rate": 22050},
    "rate_48k": {"audio_rate": 48000},
    "mono": {"audio_channels": 1},
    "surround_51": {"audio_channels": 6},
    "portrait": {"width": 48, "height": 64},
    "odd_size": {"width": 321, "height": 241},
    "one_fps": {"fps": 1.0},
    "video_4k": {"width": 3840, "height": 2160},
    "video_only": {"has_audio": False, "has_video": True},
    "mp3_named_mp4": {"has_audio": True, "has_video": False},
    "cut_mid_stream": {"audio_duration_s": 2.0},  # what the index claims
}


@pytest.fixture(scope="module")
def planted_twice(tmp_path_factory):
    roots = [tmp_path_factory.mktemp("planted"), tmp_path_factory.mktemp("planted_again")]
    return roots[0], [planted_chalearn(root) for root in roots], roots


def test_planted_chalearn_lays_out_every_planted_file_and_nothing_else(planted_twice):
    root, (planted, _), _ = planted_twice
    assert {kind: sum(p.kind == kind for p in planted) for kind in KINDS} == KINDS and len(planted) == sum(KINDS.values())
    on_disk = {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file() or path.is_symlink()}
    assert on_disk == {p.relpath for p in planted if p.relpath} | set(ANNOTATIONS.values())
    folders = {p.relpath.rsplit("/", 1)[0] for p in planted if p.relpath}
    assert folders == {"train/training80_01", "train/training80_02", "val/validation80_01", "test/test80_01"}
    for p in planted:
        assert p.relpath is None or p.relpath.startswith({"train": "train/", "val": "val/", "test": "test/"}[p.split])
        assert (p.clip_id is None) == (p.kind in ("not_media", "dangling_symlink"))
        assert p.clip_id is None or p.kind in ODD_NAMES or re.fullmatch(r"[A-Za-z0-9_-]{11}\.\d{3}", p.clip_id)
        assert p.relpath is None or p.clip_id is None or p.kind in ODD_NAMES or p.relpath.endswith(f"/{p.clip_id}.{'MP4' if p.kind == 'upper_ext' else 'mp4'}")
    by_kind = {kind: [p for p in planted if p.kind == kind] for kind in KINDS}
    inside, across = by_kind["duplicate_in_split"], by_kind["duplicate_across_splits"]
    assert inside[0].clip_id == inside[1].clip_id and {p.relpath.split("/")[1] for p in inside} == {"training80_01", "training80_02"}
    assert across[0].clip_id == across[1].clip_id and {p.split for p in across} == {"train", "val"}
    assert len({p.clip_id for p in planted if p.clip_id}) == len(planted) - len(by_kind["not_media"]) - 3  # only duplicates share an id


def test_planted_chalearn_labels_every_clip_but_the_unlabelled_one(planted_twice):
    root, (planted, _), _ = planted_twice
    labels, reasons = chalearn.read_labels(root, {})
    for split in ANNOTATIONS:
        expected = {p.clip_id for p in planted if p.split == split and p.clip_id and p.kind != "unlabelled"}
        assert set(labels.loc[labels["split"] == split, "clip_id"]) == expected
    spoiled = {p.clip_id for p in planted if p.kind in BAD_LABELS}
    assert set(labels.loc[reasons.to_numpy() != "", "clip_id"]) == spoiled
    assert ((labels[list(LABELS)] >= 0) & (labels[list(LABELS)] <= 1))[~labels["clip_id"].isin(spoiled)].all().all()
    unlabelled = next(p for p in planted if p.kind == "unlabelled")
    assert all(f"{unlabelled.clip_id}.mp4" not in pickle.loads((root / name).read_bytes(), encoding="latin1")["openness"] for name in ANNOTATIONS.values())


def test_planted_chalearn_media_are_what_their_kind_says(planted_twice, tmp_path):
    root, (planted, _), _ = planted_twice
    plain = ("normal", "upper_ext", "duplicate_in_split", "duplicate_across_splits", "unlabelled", "undecodable_video", "undecodable_audio")
    for p in planted:
        if p.kind in (*plain, *ODD_NAMES, *BAD_LABELS, "silence", "variable_frame_rate", "unreadable_file"):
            assert [kind for kind, _ in streams(root / p.relpath)] == ["video", "audio"], p
        elif p.kind in ODD_PROBES:
            found = probe(root / p.relpath).as_row()
            assert {key: found[key] for key in ODD_PROBES[p.kind]} == ODD_PROBES[p.kind], p
        elif p.kind == "two_audio_streams":
            assert probe(root / p.relpath).audio_streams == 2
        elif p.kind == "audio_only":
            assert not probe(root / p.relpath).has_video
        elif p.kind in ("not_media", "zero_bytes", "moov_missing", "text_named_mp4"):
            with pytest.raises(MediaError):
                probe(root / p.relpath)
    assert (root / next(p for p in planted if p.kind == "unreadable_file").relpath).stat().st_mode & 0o777 == 0
    link = root / next(p for p in planted if p.kind == "dangling_symlink").relpath
    assert link.is_symlink() and not link.exists()
    folder = next(p for p in planted if p.kind == "folder_named_mp4")
    assert (root / "test/test80_01" / f"{folder.clip_id}.mp4").is_dir()
    bad_audio = next(p for p in planted if p.kind == "undecodable_audio")
    with pytest.raises(MediaError):
        decode_wav(root / bad_audio.relpath, tmp_path / "bad.wav")
    one = next(p for p in planted if p.kind == "one_second")
    assert abs(probe(root / one.relpath).audio_duration_s - 1.0) < 0.05


def test_planted_chalearn_is_the_same_bytes_for_the_same_seed(planted_twice):
    _, (first, again), roots = planted_twice
    assert first == again
    files = [sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file() and os.access(path, os.R_OK)) for root in roots]
    assert files[0] == files[1]
    assert all((roots[0] / name).read_bytes() == (roots[1] / name).read_bytes() for name in files[0])
