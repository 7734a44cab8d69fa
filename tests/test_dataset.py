import hashlib
import shutil

import pandas as pd
import pytest

from impressions import LABELS
from impressions.data.clips import (
    EXCLUDED_COLUMNS,
    MEDIA_COLUMNS,
    PROBE_COLUMNS,
    Clip,
    clips_by_shard,
    decode_failures,
    decoded_clips,
    read_manifest,
    read_probe,
    shard_of,
    usable_clips,
)
from impressions.data.manifest import account, build_manifest, media_reason, probe_shard
from planted_media import make_audio_only_mp4, make_two_audio_streams


def ids(n, start=0):
    return [f"clip{i:07d}.{i % 1000:03d}" for i in range(start, start + n)]


def test_shard_of_is_stable_and_spreads_clips():
    clips = ids(4000)
    shards = [shard_of(c, 8) for c in clips]
    assert shards == [shard_of(c, 8) for c in clips]
    counts = pd.Series(shards).value_counts()
    assert set(counts.index) == {f"{i:03d}" for i in range(8)}
    assert counts.min() > 400 and counts.max() < 600  # 500 expected per shard


def test_adding_clips_does_not_move_existing_ones():
    before = clips_by_shard([Clip(c, "train", f"{c}.mp4") for c in ids(200)], 5)
    after = clips_by_shard([Clip(c, "train", f"{c}.mp4") for c in ids(205)], 5)
    new = set(ids(205)) - set(ids(200))
    for shard in before:
        old_members = [c.clip_id for c in after[shard] if c.clip_id not in new]
        assert old_members == [c.clip_id for c in before[shard]]
    changed = [s for s in before if before[s] != after[s]]
    assert 1 <= len(changed) <= 5 and all(any(c.clip_id in new for c in after[s]) for s in changed)


def test_empty_shards_are_listed():
    shards = clips_by_shard([Clip("abcdefghijk.001", "train", "x.mp4")], 3)
    assert sorted(shards) == ["000", "001", "002"] and sum(map(len, shards.values())) == 1


@pytest.fixture
def probes(media_dir, tmp_path):
    shutil.copy(media_dir / "normal_clip.001.mp4", tmp_path / "dupl_clip_x.005.mp4")
    clips = [Clip(p.stem, "train", str(p)) for p in sorted(media_dir.glob("*.mp4"))]
    clips.append(Clip("normal_clip.001", "test", str(media_dir / "normal_clip.001.mp4")))
    clips.append(Clip("dupl_clip_x.005", "val", str(tmp_path / "dupl_clip_x.005.mp4")))
    return probe_shard(clips, shard="000", min_duration_s=5.0, log=lambda _: None)


def test_probe_shard_reasons(probes):
    reasons = dict(zip(probes["clip_id"] + "/" + probes["split"], probes["reason"]))
    assert reasons["normal_clip.001/train"].startswith("duplicate clip id normal_clip.001: found 2 times")
    assert reasons["normal_clip.001/test"] == reasons["normal_clip.001/train"]  # every copy: which one is right is unknown
    assert reasons["short__clip.002/train"].startswith("too short: audio 3.0")
    assert reasons["silent_clip.003/train"] == "no audio stream"
    assert reasons["broken_clip.004/train"].startswith("unreadable:")
    assert reasons["dupl_clip_x.005/val"] == ""


def test_probe_shard_keeps_a_clip_without_video_for_the_audio_models(media_dir, tmp_path):
    path = tmp_path / "audio_only_x.006.mp4"
    make_audio_only_mp4(path, seconds=6.0)
    (row,) = probe_shard([Clip("audio_only_x.006", "train", str(path))], shard="000", min_duration_s=5.0, log=lambda _: None).to_dict("records")
    assert row["reason"] == "" and not row["has_video"] and row["has_audio"] and row["note"] == "no video stream: audio models only"


def sheet_of(probes, clip_ids, value=0.5):
    rows = probes.drop_duplicates("clip_id").set_index("clip_id").loc[clip_ids]
    frame = pd.DataFrame({"clip_id": clip_ids, "split": rows["split"].to_numpy(), "path": rows["path"].to_numpy()})
    return frame.assign(**{label: value for label in LABELS})


def test_every_sheet_clip_lands_in_exactly_one_table(probes):
    sheet = sheet_of(probes, ["short__clip.002", "silent_clip.003", "broken_clip.004", "dupl_clip_x.005"])
    manifest, excluded = build_manifest(sheet, probes, {"dupl_clip_x.005": "audio could not be decoded: boom"})
    assert list(manifest.columns) == ["clip_id", "split", "shard", "path", *MEDIA_COLUMNS, *LABELS]
    assert list(excluded.columns) == EXCLUDED_COLUMNS
    assert manifest.empty and sorted(excluded["clip_id"]) == sorted(sheet["clip_id"])
    stages = dict(zip(excluded["clip_id"], excluded["stage"] + ": " + excluded["reason"]))
    assert stages["dupl_clip_x.005"] == "wav: audio could not be decoded: boom"
    assert stages["short__clip.002"].startswith("probe: too short")
    assert stages["broken_clip.004"].startswith("probe: unreadable")


def test_manifest_keeps_the_sheet_columns_and_the_probe(probes):
    sheet = sheet_of(probes, ["dupl_clip_x.005"], value=0.25).assign(speaker="Ross")
    manifest, excluded = build_manifest(sheet, probes, {})
    assert excluded.empty and list(excluded.columns) == EXCLUDED_COLUMNS and list(manifest.columns)[-len(LABELS) - 1 :] == [*LABELS, "speaker"]
    row = manifest.iloc[0]
    assert row["split"] == "val" and row["extraversion"] == 0.25 and row["speaker"] == "Ross" and row["duration_s"] > 5.9 and row["shard"] == "000"


def test_account_adds_the_feature_stages_failures_once_per_family(probes):
    sheet = sheet_of(probes, ["dupl_clip_x.005"])
    manifest, media = build_manifest(sheet, probes, {})
    sheet_excluded = pd.DataFrame([{"clip_id": "", "split": "train", "shard": "", "path": "x/notes.txt", "stage": "sheet", "reason": "not a clip"}])
    failures = {"frames": {"dupl_clip_x.005": "frames could not be decoded: x", "not_in_manifest": "y"}, "mfcc": {}}
    excluded = account(manifest, [sheet_excluded, media], failures, n_shards=3)
    assert list(excluded.columns) == EXCLUDED_COLUMNS
    assert list(zip(excluded["clip_id"], excluded["stage"])) == [("", "sheet"), ("dupl_clip_x.005", "frames")]
    assert excluded.loc[1, "shard"] == shard_of("dupl_clip_x.005", 3) and excluded.loc[0, "shard"] == ""


def probed(clip_id, split, path, reason=""):
    """A probe row as probe_shard writes it, for a file that was not really probed."""
    media = {"duration_s": 6.0, "audio_duration_s": 6.0, "has_audio": True, "has_video": True, "audio_streams": 1, "audio_rate": 44100}
    media |= {"audio_channels": 2, "fps": 10.0, "width": 160, "height": 90, "size_bytes": 1000, "note": ""}
    return {"clip_id": clip_id, "split": split, "shard": "001", "path": path, **media, "reason": reason}


def test_manifest_is_in_split_order_and_a_clip_the_probe_missed_is_excluded_with_the_others_kept():
    clips = [("b", "test"), ("a", "val"), ("c", "train"), ("z", "predict")]
    probes = pd.DataFrame([probed(c, s, f"{s}/{c}.mp4") for c, s in clips], columns=PROBE_COLUMNS)
    sheet = pd.DataFrame([("new", "train", "train/new.mp4"), *((c, s, f"{s}/{c}.mp4") for c, s in clips)], columns=["clip_id", "split", "path"])
    manifest, excluded = build_manifest(sheet.assign(openness=0.5), probes, {})
    assert list(zip(manifest["clip_id"], manifest["split"])) == [("c", "train"), ("a", "val"), ("b", "test"), ("z", "predict")]
    assert excluded.to_dict("records") == [
        {
            "clip_id": "new",
            "split": "train",
            "shard": "",
            "path": "train/new.mp4",
            "stage": "probe",
            "reason": "not probed: the file list changed while the workflow ran; run it again",
        }
    ]


def test_media_exclusions_carry_the_clips_split_shard_and_path(probes):
    sheet = sheet_of(probes, ["silent_clip.003", "dupl_clip_x.005"])
    _, excluded = build_manifest(sheet, probes, {"dupl_clip_x.005": "audio could not be decoded: boom"})
    expected = [("silent_clip.003", "train", "000", "probe", "no audio stream"), ("dupl_clip_x.005", "val", "000", "wav", "audio could not be decoded: boom")]
    assert list(zip(excluded["clip_id"], excluded["split"], excluded["shard"], excluded["stage"], excluded["reason"])) == expected  # in sheet order
    assert list(excluded["path"]) == list(sheet["path"])


def test_account_lists_each_failure_with_the_manifest_clips_split_and_path_and_nothing_without_any():
    manifest = pd.DataFrame({"clip_id": ["b", "a"], "split": ["val", "train"], "path": ["val/b.mp4", "train/a.mp4"]})
    excluded = account(manifest, [], {"mfcc": {"b": "too short"}, "frames": {"a": "no frames", "b": "no frames"}}, n_shards=3)
    assert excluded.to_dict("records") == [
        {"clip_id": "a", "split": "train", "shard": shard_of("a", 3), "path": "train/a.mp4", "stage": "frames", "reason": "no frames"},
        {"clip_id": "b", "split": "val", "shard": shard_of("b", 3), "path": "val/b.mp4", "stage": "frames", "reason": "no frames"},
        {"clip_id": "b", "split": "val", "shard": shard_of("b", 3), "path": "val/b.mp4", "stage": "mfcc", "reason": "too short"},
    ]
    nothing = account(manifest, [], {}, n_shards=3)
    assert nothing.empty and list(nothing.columns) == EXCLUDED_COLUMNS


def test_probe_shard_logs_each_clip_with_its_reason_or_ok_and_its_note(media_dir, tmp_path):
    make_two_audio_streams(tmp_path / "two_streams.007.mp4", seconds=6.0)
    paths = [media_dir / "broken_clip.004.mp4", media_dir / "normal_clip.001.mp4", tmp_path / "two_streams.007.mp4"]
    lines = []
    probes = probe_shard([Clip(p.name[:-4], "train", str(p)) for p in paths], shard="000", min_duration_s=5.0, log=lines.append)
    assert list(probes.columns) == PROBE_COLUMNS and list(probes["note"]) == ["", "", "2 audio streams: the first is used"]
    assert lines[0].startswith("[1/3] broken_clip.004 unreadable: ")
    assert lines[1:] == ["[2/3] normal_clip.001 ok", "[3/3] two_streams.007 ok; 2 audio streams: the first is used"]


def test_audio_of_exactly_the_shortest_duration_is_long_enough():
    assert media_reason({"has_audio": True, "audio_duration_s": 5.0}, 5.0) == ""
    assert media_reason({"has_audio": True, "audio_duration_s": 4.99}, 5.0) == "too short: audio 4.99 s < 5 s"


def test_shard_of_is_the_first_8_bytes_of_the_ids_sha1_modulo_the_shards():
    """Pinned: the caches of every existing run are keyed by these shards."""
    for clip_id in ("abcdefghijk.001", "train_dia0_utt3", "0001"):
        for n_shards in (4, 7, 50):
            assert shard_of(clip_id, n_shards) == f"{int(hashlib.sha1(clip_id.encode()).hexdigest()[:16], 16) % n_shards:03d}"
    assert [shard_of("abcdefghijk.001", n) for n in (4, 7, 50)] == ["001", "006", "001"]


def test_tables_keep_ids_shards_and_reasons_as_text(tmp_path):
    probe = pd.DataFrame(
        {"clip_id": ["0001", "b", "c"], "split": "train", "shard": "007", "path": ["a.mp4", "b.mp4", "c.mp4"], "reason": ["", "", "too short"]}
    )
    probe.to_csv(tmp_path / "probe.tsv", sep="\t", index=False)
    read = read_probe(tmp_path / "probe.tsv")
    assert list(read["clip_id"]) == ["0001", "b", "c"] and list(read["shard"]) == ["007"] * 3 and list(read["reason"]) == ["", "", "too short"]
    assert read_manifest(tmp_path / "probe.tsv").equals(read)
    assert usable_clips(tmp_path / "probe.tsv") == ["0001", "b"]
    wav = tmp_path / "wav"
    wav.mkdir()
    pd.DataFrame({"clip_id": ["b"], "reason": ["NA"]}).to_csv(wav / "failed.tsv", sep="\t", index=False)
    assert decode_failures(wav) == {"b": "NA"}  # ffmpeg's words, not a missing value
    assert decoded_clips(tmp_path / "probe.tsv", wav) == ["0001"]
