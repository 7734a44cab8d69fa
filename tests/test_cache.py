import socket
import subprocess

import h5py
import numpy as np
import pytest

from impressions import __version__
from impressions.io.atomic import atomic_path, write_json
from impressions.io.cache import CacheReader, write_cache


def arrays(seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 3, 2)).astype(np.float32) for n in (4, 0, 2)]


def test_roundtrip_per_clip_arrays_and_params(tmp_path):
    data = arrays(0)
    path = tmp_path / "c.h5"
    write_cache(path, ["a", "b", "c"], {"x": data, "y": [np.arange(k, dtype=np.int16) for k in (1, 2, 3)]}, {"rate": 16000})
    with CacheReader(path) as cache:
        assert cache.clip_ids == ["a", "b", "c"]
        assert cache.params == {"rate": 16000} and cache.version == __version__
        for clip, expected in zip("abc", data):
            got = cache.get("x", clip)
            assert got.dtype == np.float32 and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
        assert [a.tolist() for a in cache.all("y")] == [[0], [0, 1], [0, 1, 2]]
        assert "b" in cache and "z" not in cache
        with pytest.raises(KeyError, match="no clip 'z'"):
            cache.get("x", "z")


def test_same_content_gives_identical_bytes(tmp_path):
    write_cache(tmp_path / "1.h5", ["a", "b", "c"], {"x": arrays(1)}, {"p": 1})
    write_cache(tmp_path / "2.h5", ["a", "b", "c"], {"x": arrays(1)}, {"p": 1})
    assert (tmp_path / "1.h5").read_bytes() == (tmp_path / "2.h5").read_bytes()


def test_no_dataset_records_when_it_was_written_and_the_json_is_key_sorted(tmp_path):
    write_cache(tmp_path / "1.h5", ["a", "b"], {"x": arrays(1)[:2]}, {"p": 1, "a": 2}, failed={"z": "late", "c": "early"})
    write_cache(tmp_path / "2.h5", ["a", "b"], {"x": arrays(1)[:2]}, {"a": 2, "p": 1}, failed={"c": "early", "z": "late"})
    assert (tmp_path / "1.h5").read_bytes() == (tmp_path / "2.h5").read_bytes()  # the same content in another order
    with h5py.File(tmp_path / "1.h5", "r") as h5:
        assert [h5py.h5o.get_info(h5[name].id).ctime for name in ("clip_id", "x", "x_offsets")] == [0, 0, 0]
        assert h5.attrs["params"] == '{"a": 2, "p": 1}' and h5.attrs["failed"] == '{"c": "early", "z": "late"}'


def test_failed_clips_are_read_back_and_none_is_an_empty_record(tmp_path):
    write_cache(tmp_path / "f.h5", ["a"], {"x": arrays(2)[:1]}, {}, failed={"b": "audio could not be decoded"})
    write_cache(tmp_path / "ok.h5", ["a"], {"x": arrays(2)[:1]}, {})
    with CacheReader(tmp_path / "f.h5") as failed, CacheReader(tmp_path / "ok.h5") as ok:
        assert failed.failed == {"b": "audio could not be decoded"} and ok.failed == {}


def test_a_cache_of_no_clips_holds_empty_float32_features(tmp_path):
    write_cache(tmp_path / "empty.h5", [], {"x": []}, {"p": 1})
    with CacheReader(tmp_path / "empty.h5") as cache:
        assert cache.clip_ids == [] and cache.all("x") == []
    with h5py.File(tmp_path / "empty.h5", "r") as h5:
        assert h5["x"].shape == (0,) and h5["x"].dtype == np.float32 and list(h5["x_offsets"][()]) == [0]


def test_mismatched_lengths_raise_and_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="2 arrays for 3 clips"):
        write_cache(tmp_path / "c.h5", ["a", "b", "c"], {"x": arrays(0)[:2]}, {})
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("job died")
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_path_removes_what_killed_writers_left_and_keeps_live_ones(tmp_path):
    finished = subprocess.Popen(["true"])
    finished.wait()  # its pid is gone: a writer killed half-way
    host = socket.gethostname()
    dead = tmp_path / f".out.{host}-{finished.pid}.tmp.h5"
    live = tmp_path / f".out.{host}-1.tmp.h5"  # pid 1 is always running
    other_host = tmp_path / f".out.elsewhere-{finished.pid}.tmp.h5"  # a cluster node's: its pid means nothing here
    other_target = tmp_path / f".other.{host}-{finished.pid}.tmp.h5"
    for path in (dead, live, other_host, other_target):
        path.write_bytes(b"half")
    with atomic_path(tmp_path / "out.h5") as tmp:
        tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.h5", live.name, other_host.name, other_target.name])
    assert (tmp_path / "out.h5").read_bytes() == b"whole"


def test_atomic_path_replaces_directories(tmp_path):
    target = tmp_path / "wav"
    for content in ("first", "second"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "a.txt").write_text(content)
    assert (target / "a.txt").read_text() == "second"
