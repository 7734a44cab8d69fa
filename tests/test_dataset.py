import shutil

import pandas as pd
import pytest

from impressions import LABELS
from impressions.data.clips import EXCLUDED_COLUMNS, MEDIA_COLUMNS, Clip, clips_by_shard, shard_of
from impressions.data.manifest import account, build_manifest, probe_shard
from planted_media import make_audio_only_mp4


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
    assert excluded.empty and list(manifest.columns)[-len(LABELS) - 1 :] == [*LABELS, "speaker"]
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
