"""The seed-002 MFCC input: its length from the training split (features.audio_stage) and the tensor (models.instances)."""

import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.features.audio_stage import mfcc_length
from impressions.io.cache import read_feature, write_cache
from impressions.models.instances import mfcc_tensor


def test_mfcc_tensor_standardises_and_pre_pads():
    mfcc = np.arange(12, dtype=np.float32).reshape(4, 3) * 2 + 5  # 4 frames, 3 coefficients
    tensor = mfcc_tensor(mfcc, length=6)
    assert tensor.shape == (3, 6, 1) and tensor.dtype == np.float32
    assert np.all(tensor[:, :2] == 0)  # zeros go before the clip
    real = tensor[:, 2:, 0]
    assert abs(real.mean()) < 1e-6 and abs(real.std() - 1) < 1e-5
    np.testing.assert_allclose(real.T, (mfcc - mfcc.mean()) / mfcc.std(), rtol=1e-5)


def test_mfcc_tensor_keeps_the_last_frames_of_a_long_clip():
    mfcc = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    standard = (mfcc - mfcc.mean()) / mfcc.std()
    np.testing.assert_allclose(mfcc_tensor(mfcc, length=4)[:, :, 0].T, standard[-4:], rtol=1e-5)


@pytest.fixture
def two_shards(tmp_path):
    rng = np.random.default_rng(0)
    frames = {"a": 10, "b": 20, "c": 31, "d": 7}
    for shard, clips in (("000", ["a", "b"]), ("001", ["c", "d"])):
        arrays = [rng.normal(size=(frames[c], 24)).astype(np.float32) for c in clips]
        write_cache(tmp_path / f"{shard}.h5", clips, {"mfcc": arrays, "log_mel_db": [np.zeros((frames[c], 8), np.float32) for c in clips]}, {})
    manifest = pd.DataFrame(
        {
            "clip_id": list("abcd"),
            "split": ["train", "train", "val", "train"],
            "shard": ["000", "000", "001", "001"],
            **{t: [0.1, 0.2, 0.3, 0.4] for t in TRAITS},
        }
    )
    return manifest, {s: tmp_path / f"{s}.h5" for s in ("000", "001")}


def test_mfcc_length_uses_the_training_split_only(two_shards):
    manifest, caches = two_shards
    assert mfcc_length(manifest, caches) == round((10 + 20 + 7) / 3)  # c is in val
    assert set(read_feature(manifest, caches, "mfcc")) == set("abcd")
