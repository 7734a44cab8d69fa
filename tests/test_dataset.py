import shutil

import pandas as pd
import pytest

from impressions import LABELS
from impressions.data.clips import EXCLUDED_COLUMNS, MANIFEST_COLUMNS, Clip, clips_by_shard, discover, shard_of
from impressions.data.manifest import build_manifest, probe_shard


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


def test_discover_lists_mp4s_per_split(tmp_path):
    for split, name in [("train", "aaaaaaaaaaa.001"), ("val", "bbbbbbbbbbb.002"), ("test", "ccccccccccc.003")]:
        (tmp_path / split).mkdir()
        (tmp_path / split / f"{name}.mp4").touch()
    (tmp_path / "train" / "notes.txt").touch()
    splits = {s: {"videos": s, "annotations": f"{s}.pkl"} for s in ("train", "val", "test")}
    clips = discover(tmp_path, splits)
    assert [(c.clip_id, c.split) for c in clips] == [("aaaaaaaaaaa.001", "train"), ("bbbbbbbbbbb.002", "val"), ("ccccccccccc.003", "test")]


@pytest.fixture
def probes(media_dir, tmp_path):
    shutil.copy(media_dir / "normal_clip.001.mp4", tmp_path / "dupl_clip_x.005.mp4")
    clips = [Clip(p.stem, "train", str(p)) for p in sorted(media_dir.glob("*.mp4"))]
    clips.append(Clip("normal_clip.001", "test", str(media_dir / "normal_clip.001.mp4")))
    clips.append(Clip("dupl_clip_x.005", "val", str(tmp_path / "dupl_clip_x.005.mp4")))
    return probe_shard(clips, shard="000", min_duration_s=5.0, log=lambda _: None)


def test_probe_shard_reasons(probes):
    reasons = dict(zip(probes["clip_id"] + "/" + probes["split"], probes["reason"]))
    assert reasons["normal_clip.001/train"] == ""
    assert reasons["short__clip.002/train"].startswith("too short: audio 3.0")
    assert reasons["silent_clip.003/train"] == "no audio stream"
    assert reasons["broken_clip.004/train"].startswith("unreadable:")
    assert reasons["normal_clip.001/test"].startswith("duplicate clip id")
    assert reasons["dupl_clip_x.005/val"] == ""


def labels_for(clip_ids, value=0.5):
    return pd.DataFrame({label: {c: value for c in clip_ids} for label in LABELS})


def test_every_clip_lands_in_exactly_one_table(probes):
    labels = {"train": labels_for(["normal_clip.001", "short__clip.002"]), "val": labels_for([]), "test": labels_for([])}
    manifest, excluded = build_manifest(probes, labels)
    assert list(manifest.columns) == MANIFEST_COLUMNS and list(excluded.columns) == EXCLUDED_COLUMNS
    assert len(manifest) + len(excluded) == len(probes)
    assert list(manifest["clip_id"]) == ["normal_clip.001"]
    assert manifest.loc[0, "extraversion"] == 0.5
    reasons = dict(zip(excluded["clip_id"] + "/" + excluded["split"], excluded["reason"]))
    assert reasons["dupl_clip_x.005/val"].startswith("missing labels")
    assert reasons["short__clip.002/train"].startswith("too short")


def test_labels_outside_unit_interval_are_excluded(probes):
    labels = {"train": labels_for(["normal_clip.001"], value=1.5), "val": labels_for(["dupl_clip_x.005"]), "test": labels_for([])}
    manifest, excluded = build_manifest(probes, labels)
    assert list(manifest["clip_id"]) == ["dupl_clip_x.005"]
    reason = excluded.set_index(excluded["clip_id"] + "/" + excluded["split"]).loc["normal_clip.001/train", "reason"]
    assert reason.startswith("invalid labels: extraversion")
