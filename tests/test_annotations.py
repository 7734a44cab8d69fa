import os
import pickle

import numpy as np
import pytest

from impressions import LABELS
from impressions.data.annotations import AnnotationError, load_annotations, safe_load_pickle
from planted import py2_pickle


def write(path, obj, protocol=2):
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=protocol)
    return path


def chalearn(scores):
    return {label: {f"{clip}.mp4": value for clip, value in scores.items()} for label in LABELS}


def test_reads_the_chalearn_format_into_a_frame(tmp_path):
    path = tmp_path / "a.pkl"
    path.write_bytes(py2_pickle(chalearn({"abcdefghijk.001": 0.25, "ABCDEFGHIJK.002": 0.75})))  # Python 2's byte strings
    frame = load_annotations(path)
    assert list(frame.columns) == list(LABELS)
    assert list(frame.index) == ["ABCDEFGHIJK.002", "abcdefghijk.001"]
    assert frame.loc["abcdefghijk.001", "openness"] == 0.25


def test_byte_string_clip_names_are_read_as_latin1(tmp_path):
    content = {label: {"abcdéfghijk.001.mp4".encode("latin1"): 0.5, b"abcdefghijk.002": 0.25} for label in LABELS}
    frame = load_annotations(write(tmp_path / "a.pkl", content))  # protocol 2 carries bytes by _codecs.encode
    assert list(frame.index) == ["abcdefghijk.002", "abcdéfghijk.001"]
    assert frame.loc["abcdéfghijk.001", "openness"] == 0.5


def test_python2_byte_strings_beyond_ascii_are_read_as_latin1(tmp_path):
    path = tmp_path / "a.pkl"
    path.write_bytes(py2_pickle(chalearn({"abcdéfghijk.001": 0.5})))
    assert b"abcd\xe9fghijk.001.mp4" in path.read_bytes()  # one byte, as Python 2's str held it
    assert list(load_annotations(path).index) == ["abcdéfghijk.001"]


def test_accepts_numpy_float_scores(tmp_path):
    path = write(tmp_path / "a.pkl", chalearn({"abcdefghijk.001": np.float64(0.5)}))
    assert load_annotations(path).loc["abcdefghijk.001", "interview"] == 0.5


def test_a_pickle_that_runs_code_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = write(tmp_path / "evil.pkl", {"extraversion": Exploit()})
    with pytest.raises(AnnotationError, match=r"evil.pkl.*(system|posix).*only hold dicts, lists, strings and numbers, so it was not loaded"):
        safe_load_pickle(path)
    assert not marker.exists()


def test_missing_label_key_is_a_clear_error(tmp_path):
    content = chalearn({"abcdefghijk.001": 0.5})
    del content["interview"]
    with pytest.raises(AnnotationError, match=r"\['interview'\] are missing"):
        load_annotations(write(tmp_path / "a.pkl", content))


def test_non_numeric_score_and_wrong_types_name_the_file_and_the_value(tmp_path):
    content = chalearn({"abcdefghijk.001": 0.5})
    content["openness"]["abcdefghijk.001.mp4"] = "high"
    with pytest.raises(AnnotationError, match=r"a.pkl: openness score of abcdefghijk.001.mp4 is 'high', not a number"):
        load_annotations(write(tmp_path / "a.pkl", content))
    with pytest.raises(AnnotationError, match=r"b.pkl: expected a dict from label to \{clip: score\}, found list"):
        load_annotations(write(tmp_path / "b.pkl", [1, 2, 3]))
    content = chalearn({"abcdefghijk.001": 0.5})
    content["interview"] = [0.5]
    with pytest.raises(AnnotationError, match=r"c.pkl: 'interview' should map clip file names to scores, found list"):
        load_annotations(write(tmp_path / "c.pkl", content))
    content = chalearn({"abcdefghijk.001": 0.5})
    content["openness"] = {7: 0.5}
    with pytest.raises(AnnotationError, match=r"d.pkl: clip names must be strings, found 7"):
        load_annotations(write(tmp_path / "d.pkl", content))


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.pkl"
    path.write_bytes(b"\x00\x01 not a pickle")
    with pytest.raises(AnnotationError, match="junk.pkl"):
        safe_load_pickle(path)


def test_a_python2_byte_string_of_a_utf8_name_reads_as_that_name(tmp_path):
    as_python2_wrote = "Zoë_日本語.001.mp4".encode("utf-8").decode("latin1")  # its UTF-8 bytes, one char each
    path = tmp_path / "a.pkl"
    path.write_bytes(py2_pickle({label: {as_python2_wrote: 0.5} for label in LABELS}))
    assert list(load_annotations(path).index) == ["Zoë_日本語.001"]
    content = {label: {"Zoë_日本語.001.mp4": 0.5, "café.002.mp4": 0.25} for label in LABELS}
    assert sorted(load_annotations(write(tmp_path / "b.pkl", content)).index) == ["Zoë_日本語.001", "café.002"]  # Python 3 text stays


def test_a_file_that_cannot_be_opened_is_a_clear_error(tmp_path):
    with pytest.raises(AnnotationError, match=f"{tmp_path}: cannot be read"):
        safe_load_pickle(tmp_path)
