"""The shard-level stage functions: audio features and frames of real clips into caches."""

import numpy as np
import pandas as pd

from impressions.audio import feature_cache
from impressions.cache import CacheReader
from impressions.media import decode_shard
from impressions.video import frame_cache


def test_decode_shard_then_audio_feature_cache(media_dir, tmp_path):
    clips = {"normal_clip.001": str(media_dir / "normal_clip.001.mp4"), "short__clip.002": str(media_dir / "short__clip.002.mp4")}
    decode_shard(clips, tmp_path / "wav", sample_rate=16000, threads=2, log=lambda _: None)
    assert sorted(p.name for p in (tmp_path / "wav").iterdir()) == ["normal_clip.001.wav", "short__clip.002.wav"]
    feature_cache(list(clips), tmp_path / "wav", tmp_path / "audio.h5", n_mfcc=13, log=lambda _: None)
    with CacheReader(tmp_path / "audio.h5") as cache:
        assert cache.clip_ids == list(clips)
        assert cache.get("vggish_examples", "normal_clip.001").shape == (6, 96, 64)
        assert cache.get("vggish_examples", "short__clip.002").shape == (3, 96, 64)
        assert cache.get("mfcc", "normal_clip.001").shape[1] == 13
        assert cache.params["n_mfcc"] == 13 and cache.params["vggish_front_end"]["fft_length"] == 512
        # a 440 Hz tone: the loudest mel band of every frame is the same one
        peak = cache.get("vggish_examples", "normal_clip.001").reshape(-1, 64)[10:-10].argmax(axis=1)
        assert len(set(peak.tolist())) == 1


def test_frame_cache_shapes_and_params(media_dir, tmp_path):
    clips = pd.DataFrame({"clip_id": ["normal_clip.001", "silent_clip.003"],
                          "path": [str(media_dir / "normal_clip.001.mp4"), str(media_dir / "silent_clip.003.mp4")],
                          "duration_s": [6.0, 6.0]})
    frame_cache(clips, tmp_path / "frames.h5", per_clip=4, height=70, width=124, threads=2, log=lambda _: None)
    with CacheReader(tmp_path / "frames.h5") as cache:
        frames = cache.get("frames", "silent_clip.003")
        assert frames.shape == (4, 70, 124, 3) and frames.dtype == np.uint8
        assert cache.params == {"per_clip": 4, "height": 70, "width": 124, "color": "RGB", "placement": "centres of equal slices"}


def test_an_empty_shard_gives_empty_caches_at_every_stage(tmp_path):
    from impressions.embeddings import embedding_cache

    decode_shard({}, tmp_path / "wav", log=lambda _: None)
    feature_cache([], tmp_path / "wav", tmp_path / "audio.h5", log=lambda _: None)
    frame_cache(pd.DataFrame(columns=["clip_id", "path", "duration_s"]), tmp_path / "frames.h5", log=lambda _: None)
    embedding_cache(tmp_path / "audio.h5", tmp_path / "wav", tmp_path / "vggish.h5", source="untrained",
                    hub_handle=None, seed=0, batch_size=8, log=lambda _: None)
    for name in ("audio.h5", "frames.h5", "vggish.h5"):
        with CacheReader(tmp_path / name) as cache:
            assert cache.clip_ids == []
    assert list((tmp_path / "wav").iterdir()) == []
