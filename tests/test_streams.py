"""Model inputs read clip by clip from the caches, and the tf.data pipelines over them."""

import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.io.cache import CacheReader, write_cache
from impressions.models import registry
from impressions.models.inputs import ClipSource, clip_predictions
from impressions.models.streams import dataset, signature


def make_caches(tmp_path, n_clips=40, n_shards=2, seed=0):
    """Spectrogram and VGGish caches over a few shards, and a manifest with a learnable target."""
    rng = np.random.default_rng(seed)
    rows, caches = [], {"spectrogram": {}, "vggish": {}}
    for s in range(n_shards):
        shard, clips = f"{s:03d}", [f"clip{s}_{i:03d}" for i in range(n_clips // n_shards)]
        n_real = rng.integers(1, 4, size=len(clips))
        patches = [rng.normal(size=(3, 96, 64)).astype(np.float32) for _ in clips]
        seconds = [int(k) for k in rng.integers(3, 8, size=len(clips))]
        embeddings = [rng.normal(size=(k, 128)).astype(np.float32) for k in seconds]
        write_cache(
            tmp_path / f"spec{shard}.h5",
            clips,
            {
                "clip_spectrogram": patches,
                "summary_spectrogram": [p.reshape(-1, 64)[::6] for p in patches],
                "n_real_seconds": [np.array([k], np.int32) for k in n_real],
            },
            {},
        )
        write_cache(tmp_path / f"vggish{shard}.h5", clips, {"embeddings": embeddings}, {})
        caches["spectrogram"][shard], caches["vggish"][shard] = tmp_path / f"spec{shard}.h5", tmp_path / f"vggish{shard}.h5"
        for clip, emb, k in zip(clips, embeddings, n_real):
            target = 1 / (1 + np.exp(-emb[:3].mean()))
            rows.append({"clip_id": clip, "split": "train", "shard": shard, "n_real": int(k), "seconds": len(emb), **{t: target for t in TRAITS}})
    return pd.DataFrame(rows), caches


def test_patch_models_get_one_instance_per_real_second(tmp_path):
    rows, caches = make_caches(tmp_path)
    source = ClipSource("clip_cnn", rows, caches, {})
    counts = [len(instances) for _, instances in source.clips()]
    assert counts == list(rows["n_real"])
    assert source.first_instance().shape == (96, 64)


def test_vggish_head_excludes_clips_with_too_few_seconds(tmp_path):
    rows, caches = make_caches(tmp_path)
    source = ClipSource("vggish_head", rows, caches, {"seconds": 5})
    excluded = source.excluded()
    assert sorted(excluded["clip_id"]) == sorted(rows.loc[rows["seconds"] < 5, "clip_id"])
    assert set(excluded["reason"]) == {registry.spec("vggish_head").exclusion_reason}
    assert signature(source).shape == (640,)


def test_dataset_batches_share_the_clip_target_and_shuffle_is_seeded(tmp_path):
    rows, caches = make_caches(tmp_path)
    source = ClipSource("clip_cnn", rows, caches, {})
    targets = source.targets()
    plain = list(dataset(source, targets=targets, batch_size=4, shuffle=False, seed=0).as_numpy_iterator())
    assert sum(len(x) for x, _ in plain) == rows["n_real"].sum()
    patches = []  # each clip's real patches as the cache holds them, in manifest order
    for row in rows.itertuples():
        with CacheReader(caches["spectrogram"][row.shard]) as cache:
            patches.append(cache.get("clip_spectrogram", row.clip_id)[: row.n_real])
    np.testing.assert_array_equal(np.concatenate([x for x, _ in plain]), np.concatenate(patches))
    repeated = np.repeat(targets, [len(p) for p in patches], axis=0)  # a clip's target on each of its instances
    np.testing.assert_allclose(np.concatenate([y for _, y in plain]), repeated, rtol=1e-6)

    def epoch(seed):
        return np.concatenate([y for _, y in dataset(source, targets=targets, batch_size=4, shuffle=True, seed=seed).as_numpy_iterator()])

    one, again, other = epoch(1), epoch(1), epoch(2)
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, other)
    np.testing.assert_allclose(np.sort(one[:, 0]), np.sort(np.concatenate([y for _, y in plain])[:, 0]), rtol=1e-6)


def test_dataset_streams_instead_of_loading_the_split(tmp_path):
    rows, caches = make_caches(tmp_path, n_clips=400, n_shards=4)
    source = ClipSource("summary_cnn", rows, caches, {})
    stream = dataset(source, targets=source.targets(), batch_size=4, shuffle=True, seed=0, shuffle_buffer=8)
    source.reads = 0
    next(iter(stream))
    # one batch needs the shuffle buffer filled and a few batches prefetched: far fewer than 400 clips
    assert 0 < source.reads < 100, source.reads


def test_clip_predictions_average_the_instances_of_a_clip(tmp_path):
    rows, caches = make_caches(tmp_path, n_clips=6, n_shards=1)
    source = ClipSource("clip_cnn", rows, caches, {})

    def predict(batch):  # one prediction per patch: its mean value, in every trait column
        return np.repeat(batch.reshape(len(batch), -1).mean(axis=1, keepdims=True), len(TRAITS), axis=1)

    clip_ids, predictions = clip_predictions(source, predict)
    assert clip_ids == list(rows["clip_id"]) and predictions.shape == (6, 5)
    for (_, instances), predicted in zip(source.clips(), predictions):
        assert predicted[0] == pytest.approx(np.mean([p.mean() for p in instances]), rel=1e-5)


def test_predictions_are_batched_across_clips_and_averaged_per_clip(tmp_path):
    rows, caches = make_caches(tmp_path, n_clips=40, n_shards=2)
    source = ClipSource("clip_cnn", rows, caches, {})
    calls = []

    def predict(batch):
        calls.append(len(batch))
        flat = batch.reshape(len(batch), -1)
        return np.stack([flat.mean(1), flat.max(1), flat.min(1), flat.std(1), flat[:, 0]], axis=1)  # one column per trait

    clip_ids, predictions = clip_predictions(source, predict, batch_size=16)
    assert len(calls) < len(rows) and max(calls) <= 16 and sum(calls) == rows["n_real"].sum()
    for (_, instances), predicted in zip(source.clips(), predictions):
        expected = [np.mean([f(p) for p in instances]) for f in (np.mean, np.max, np.min, np.std, lambda p: p.flat[0])]
        np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)


def test_a_split_that_fits_is_read_from_the_caches_once(tmp_path):
    rows, caches = make_caches(tmp_path)
    kept = ClipSource("clip_cnn", rows, caches, {})
    streamed = ClipSource("clip_cnn", rows, caches, {}, memory_mb=0.1)  # 0.1 MB: less than the split's patches
    first = [instances for _, instances in kept.clips()]
    for source in (kept, streamed):
        list(source.clips())
        source.reads = 0
        order = np.random.default_rng(0).permutation(len(rows))
        again = dict(source.clips(order))
        for index, instances in enumerate(first):
            np.testing.assert_array_equal(np.stack(again[index]), np.stack(instances))
    assert kept.reads == 0 and streamed.reads == len(rows)
