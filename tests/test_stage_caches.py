"""The shard-level stage functions: audio features and frames of real clips into caches."""

import re

import numpy as np
import pandas as pd
import pytest

from impressions.data.clips import decode_failures
from impressions.data.media import decode_shard, probe
from impressions.features.audio_stage import logmel_cache, mfcc_cache, rawwave_cache, spectrogram_cache
from impressions.features.video_stage import frame_cache
from impressions.io.cache import CacheReader
from planted_media import make_audio_only_mp4, make_cut_mid_stream, make_undecodable_audio, make_undecodable_video

CLIPS = ["normal_clip.001", "short__clip.002"]


@pytest.fixture(scope="module")
def wav_folder(media_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shard") / "wav"
    decode_shard({c: str(media_dir / f"{c}.mp4") for c in CLIPS}, folder, sample_rate=16000, threads=2, log=lambda _: None)
    return folder


def test_a_clip_cut_short_after_its_index_is_recorded_as_too_short_once_decoded(tmp_path):
    make_cut_mid_stream(tmp_path / "cut.mp4", seconds=3.0)
    assert probe(tmp_path / "cut.mp4").audio_duration_s == 3.0  # what the index claims
    decode_shard({"cut": str(tmp_path / "cut.mp4")}, tmp_path / "wav", min_duration_s=2.0, log=lambda _: None)
    assert not (tmp_path / "wav" / "cut.wav").exists()
    reason = decode_failures(tmp_path / "wav")["cut"]
    assert re.fullmatch(r"audio could not be decoded: .*cut\.mp4: only 1\.\d\d s of audio decoded, < 2 s \(the file is cut short\)", reason)


def test_decode_shard_writes_one_wav_per_clip(wav_folder):
    assert sorted(p.name for p in wav_folder.iterdir()) == ["failed.tsv", "normal_clip.001.wav", "short__clip.002.wav"]
    assert decode_failures(wav_folder) == {}


def test_a_clip_that_cannot_be_decoded_is_recorded_and_the_shard_goes_on(media_dir, tmp_path):
    make_undecodable_audio(tmp_path / "bad.mp4")
    clips = {"bad": str(tmp_path / "bad.mp4"), "normal_clip.001": str(media_dir / "normal_clip.001.mp4")}
    decode_shard(clips, tmp_path / "wav", log=lambda _: None)
    assert sorted(p.name for p in (tmp_path / "wav").iterdir()) == ["failed.tsv", "normal_clip.001.wav"]
    (reason,) = decode_failures(tmp_path / "wav").values()
    assert reason.startswith(f"audio could not be decoded: {tmp_path / 'bad.mp4'}: ")
    logmel_cache(["normal_clip.001", "bad"], tmp_path / "wav", tmp_path / "logmel.h5", log=lambda _: None)
    with CacheReader(tmp_path / "logmel.h5") as cache:
        assert cache.clip_ids == ["normal_clip.001"] and "bad" not in cache
        assert cache.failed["bad"].startswith("not computed: ") and "bad.wav" in cache.failed["bad"]


def test_logmel_and_spectrogram_caches(wav_folder, tmp_path):
    logmel_cache(CLIPS, wav_folder, tmp_path / "logmel.h5", log=lambda _: None)
    with CacheReader(tmp_path / "logmel.h5") as cache:
        assert cache.clip_ids == CLIPS and cache.params["vggish_front_end"]["fft_length"] == 512
        assert cache.get("vggish_examples", "normal_clip.001").shape == (6, 96, 64)
        assert cache.get("vggish_examples", "short__clip.002").shape == (3, 96, 64)
        # a 440 Hz tone: the loudest mel band of every frame is the same one
        peak = cache.get("vggish_examples", "normal_clip.001").reshape(-1, 64)[10:-10].argmax(axis=1)
        assert len(set(peak.tolist())) == 1
        examples = cache.get("vggish_examples", "short__clip.002")
    spectrogram_cache(tmp_path / "logmel.h5", tmp_path / "spec.h5", seconds=5, pool=6, log=lambda _: None)
    with CacheReader(tmp_path / "spec.h5") as cache:
        patches = cache.get("clip_spectrogram", "short__clip.002")
        assert patches.shape == (5, 96, 64) and cache.get("n_real_seconds", "short__clip.002").tolist() == [3]
        np.testing.assert_array_equal(patches[:3], examples)
        assert cache.get("summary_spectrogram", "normal_clip.001").shape == (80, 64)


def test_mfcc_and_rawwave_caches(wav_folder, tmp_path):
    mfcc_cache(CLIPS, wav_folder, tmp_path / "mfcc.h5", n_mfcc=13, n_mels=40, log=lambda _: None)
    with CacheReader(tmp_path / "mfcc.h5") as cache:
        mfcc, db = cache.get("mfcc", "normal_clip.001"), cache.get("log_mel_db", "normal_clip.001")
        assert mfcc.shape == (188, 13) and db.shape == (188, 40)  # 1 + 96000 // 512 frames
        assert cache.params["n_mfcc"] == 13
    rawwave_cache(CLIPS, wav_folder, tmp_path / "raw.h5", seconds=5, sample_rate=4000, n_fft=256, hop_length=128, log=lambda _: None)
    with CacheReader(tmp_path / "raw.h5") as cache:
        full, short = cache.get("rawwave_fft", "normal_clip.001"), cache.get("rawwave_fft", "short__clip.002")
        assert full.shape == short.shape == (155, 129)
        assert cache.get("n_real_frames", "normal_clip.001").tolist() == [155]
        assert 90 <= cache.get("n_real_frames", "short__clip.002")[0] <= 94  # ~3 s of 5
        # the 440 Hz tone sits in bin 440 / (4000 / 256) ~ 28
        assert abs(int(full.mean(axis=0).argmax()) - 28) <= 1


def test_frame_cache_shapes_and_params(media_dir, tmp_path):
    clips = pd.DataFrame(
        {
            "clip_id": ["normal_clip.001", "silent_clip.003"],
            "path": [str(media_dir / "normal_clip.001.mp4"), str(media_dir / "silent_clip.003.mp4")],
            "duration_s": [6.0, 6.0],
            "has_video": [True, True],
            "fps": [10.0, 10.0],
        }
    )
    frame_cache(clips, tmp_path / "frames.h5", per_clip=4, height=70, width=124, threads=2, log=lambda _: None)
    with CacheReader(tmp_path / "frames.h5") as cache:
        frames = cache.get("frames", "silent_clip.003")
        assert frames.shape == (4, 70, 124, 3) and frames.dtype == np.uint8
        assert cache.params == {"per_clip": 4, "height": 70, "width": 124, "color": "RGB", "placement": "centres of equal slices"}
        assert cache.failed == {}


def test_frame_cache_records_clips_without_frames(media_dir, tmp_path):
    make_undecodable_video(tmp_path / "bad_video.mp4")
    make_audio_only_mp4(tmp_path / "audio_only.mp4")
    clips = pd.DataFrame(
        {
            "clip_id": ["bad_video", "audio_only", "normal_clip.001"],
            "path": [str(tmp_path / "bad_video.mp4"), str(tmp_path / "audio_only.mp4"), str(media_dir / "normal_clip.001.mp4")],
            "duration_s": [6.0, 6.0, 6.0],
            "has_video": [True, False, True],
            "fps": [10.0, 0.0, 10.0],
        }
    )
    frame_cache(clips, tmp_path / "frames.h5", per_clip=2, height=36, width=64, threads=2, log=lambda _: None)
    with CacheReader(tmp_path / "frames.h5") as cache:
        assert cache.clip_ids == ["normal_clip.001"]
        assert cache.failed["audio_only"] == "no video stream"
        assert cache.failed["bad_video"].startswith(f"frames could not be decoded: {tmp_path / 'bad_video.mp4'}")


def test_an_empty_shard_gives_empty_caches_at_every_stage(tmp_path):
    from impressions.features.embed_stage import embedding_cache

    decode_shard({}, tmp_path / "wav", log=lambda _: None)
    logmel_cache([], tmp_path / "wav", tmp_path / "audio.h5", log=lambda _: None)
    frame_cache(pd.DataFrame(columns=["clip_id", "path", "duration_s", "has_video", "fps"]), tmp_path / "frames.h5", log=lambda _: None)
    embedding_cache(
        tmp_path / "audio.h5", tmp_path / "wav", tmp_path / "vggish.h5", source="untrained", hub_handle=None, seed=0, batch_size=8, log=lambda _: None
    )
    for name in ("audio.h5", "frames.h5", "vggish.h5"):
        with CacheReader(tmp_path / name) as cache:
            assert cache.clip_ids == []
    assert [p.name for p in (tmp_path / "wav").iterdir()] == ["failed.tsv"]
