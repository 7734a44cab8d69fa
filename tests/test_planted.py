"""The fixtures of tests/planted.py do what they claim: checked with pickletools, ffprobe and our decoders."""

import pickle
import pickletools

import ffmpeg
import numpy as np
import pytest
import soundfile as sf

from impressions.data.annotations import load_annotations
from impressions.data.media import MediaError, decode_wav, probe, sample_frames
from planted import TWO_STREAM_TONES, make_audio_only_mp4, make_two_audio_streams, make_undecodable_audio, make_undecodable_video, py2_pickle

CONTENT = {
    "extraversion": {"abcdefghijk.001.mp4": 0.123456789, "-bcdefghijk.002.mp4": 1 / 3},
    "openness": {"abcdefghijk.001.mp4": 0.5, "-bcdefghijk.002.mp4": 0.0},
}


@pytest.mark.parametrize("protocol", [0, 2])
def test_py2_pickle_reads_back_exactly_with_latin1(protocol):
    data = py2_pickle(CONTENT, protocol)
    assert pickle.loads(data, encoding="latin1") == CONTENT
    ops = {op.name for op, _, _ in pickletools.genops(data)}
    if protocol == 2:
        assert {"PROTO", "EMPTY_DICT", "SHORT_BINSTRING", "BINFLOAT", "BINPUT", "MARK", "SETITEMS", "STOP"} == ops
    else:
        assert {"MARK", "DICT", "PUT", "STRING", "FLOAT", "SETITEM", "STOP"} == ops
    pickletools.dis(data, out=open("/dev/null", "w"))  # a well-formed stream


def test_py2_pickle_batches_of_a_thousand_and_long_memo():
    content = {"openness": {f"{i:011d}.000.mp4": i / 2000 for i in range(1500)}}
    data = py2_pickle(content, 2)
    ops = [op.name for op, _, _ in pickletools.genops(data)]
    assert ops.count("SETITEMS") == 2 and "LONG_BINPUT" in ops
    assert pickle.loads(data, encoding="latin1") == content


def test_a_python2_annotation_pickle_loads_to_the_same_labels(tmp_path):
    from impressions import LABELS

    content = {label: {"abcdefghijk.001.mp4": 0.25 + i / 10, "-bcdefghijk.002.mp4": 0.75 - i / 10} for i, label in enumerate(LABELS)}
    (tmp_path / "a.pkl").write_bytes(py2_pickle(content, 2))
    frame = load_annotations(tmp_path / "a.pkl")
    assert list(frame.index) == ["-bcdefghijk.002", "abcdefghijk.001"]
    for i, label in enumerate(LABELS):
        assert frame.loc["abcdefghijk.001", label] == 0.25 + i / 10 and frame.loc["-bcdefghijk.002", label] == 0.75 - i / 10


def test_undecodable_audio_probes_but_does_not_decode(tmp_path):
    make_undecodable_audio(tmp_path / "a.mp4", seconds=3.0)
    found = probe(tmp_path / "a.mp4")
    assert found.has_audio and found.has_video and abs(found.audio_duration_s - 3.0) < 0.1
    with pytest.raises(MediaError, match="a.mp4: .*"):
        decode_wav(tmp_path / "a.mp4", tmp_path / "a.wav")
    sample_frames(tmp_path / "a.mp4", duration_s=3.0, count=2, height=24, width=32)  # its video is fine


def test_undecodable_video_probes_and_its_audio_decodes(tmp_path):
    make_undecodable_video(tmp_path / "v.mp4", seconds=3.0)
    found = probe(tmp_path / "v.mp4")
    assert found.has_audio and found.has_video
    decode_wav(tmp_path / "v.mp4", tmp_path / "v.wav")
    with pytest.raises(MediaError):
        sample_frames(tmp_path / "v.mp4", duration_s=3.0, count=2, height=24, width=32)


def test_audio_only_and_two_stream_clips(tmp_path):
    make_audio_only_mp4(tmp_path / "a.mp4", seconds=3.0)
    assert (probe(tmp_path / "a.mp4").has_video, probe(tmp_path / "a.mp4").audio_streams) == (False, 1)
    make_two_audio_streams(tmp_path / "two.mp4", seconds=3.0)
    info = ffmpeg.probe(str(tmp_path / "two.mp4"))
    assert [s["codec_type"] for s in info["streams"]] == ["video", "audio", "audio"] and probe(tmp_path / "two.mp4").audio_streams == 2
    decode_wav(tmp_path / "two.mp4", tmp_path / "two.wav")  # the first audio stream, as the wav stage takes it
    wave, rate = sf.read(tmp_path / "two.wav")
    peak_hz = np.abs(np.fft.rfft(wave)).argmax() * rate / len(wave)
    assert abs(peak_hz - TWO_STREAM_TONES[0]) < 5
