import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.cache import write_cache
from impressions.models import MODELS, build
from impressions.loaders import SplitData, embedding_inputs
from impressions.train import fit, predict, seed_everything, start_at_train_mean


def manifest_rows(clips):
    rows = []
    for clip_id, split, shard in clips:
        rows.append({"clip_id": clip_id, "split": split, "shard": shard, **{t: 0.5 for t in TRAITS}})
    return pd.DataFrame(rows)


def test_embedding_inputs_flatten_first_seconds_and_exclude_short_clips(tmp_path):
    rng = np.random.default_rng(0)
    embeddings = {"a": rng.normal(size=(7, 128)), "b": rng.normal(size=(3, 128)), "c": rng.normal(size=(5, 128))}
    write_cache(tmp_path / "000.h5", list(embeddings), {"embeddings": [e.astype(np.float32) for e in embeddings.values()]}, {})
    manifest = manifest_rows([("a", "train", "000"), ("b", "train", "000"), ("c", "test", "000")])
    data, excluded = embedding_inputs(manifest, {"000": tmp_path / "000.h5"}, seconds=5)
    assert data["train"].x.shape == (1, 640) and data["train"].clip_ids == ["a"]
    np.testing.assert_allclose(data["train"].x[0], embeddings["a"][:5].reshape(-1), rtol=1e-6)
    assert data["val"].x.shape == (0, 640) and data["test"].clip_ids == ["c"]
    assert data["train"].y.shape == (1, 5)
    assert list(excluded["clip_id"]) == ["b"] and "only 3 s" in excluded.loc[0, "reason"]


def test_vggish_head_is_registered_and_outputs_five_scores_in_unit_interval():
    assert "vggish_head" in MODELS
    model = build("vggish_head", input_dim=640, hidden_units=8, dropout=0.0, seed=1)
    out = model(np.random.default_rng(0).normal(size=(3, 640)).astype(np.float32) * 100).numpy()
    assert out.shape == (3, len(TRAITS)) and (out >= 0).all() and (out <= 1).all()
    assert model.get_layer("standardize") is not None
    with pytest.raises(ValueError, match="registered models are"):
        build("nope")


def learnable(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20)).astype(np.float32)
    y = (0.5 + 0.12 * np.tanh(x[:, :5])).astype(np.float32)
    return SplitData(x=x, y=y, clip_ids=[f"c{i}" for i in range(n)])


def train_once(seed):
    seed_everything(seed)
    model = build("vggish_head", input_dim=20, hidden_units=32, dropout=0.0, seed=seed)
    train, val = learnable(300, 0), learnable(100, 1)
    model.get_layer("standardize").adapt(train.x)
    history = fit(model, train, val, learning_rate=0.01, batch_size=32, max_epochs=40, patience=5, seed=seed)
    return model, history, val


def test_fit_learns_a_learnable_target_better_than_the_mean_and_is_deterministic():
    model, history, val = train_once(3)
    predictions = predict(model, val)
    mae = np.abs(predictions - val.y).mean()
    baseline = np.abs(val.y - val.y.mean(axis=0)).mean()
    assert mae < 0.6 * baseline
    assert {"epoch", "loss", "val_loss", "one_minus_mae", "val_one_minus_mae"} <= set(history.columns)
    assert history["val_one_minus_mae"].iloc[-1] == pytest.approx(1 - history["val_mae"].iloc[-1])
    again, _, _ = train_once(3)
    np.testing.assert_array_equal(predict(again, val), predictions)


def test_fit_refuses_an_empty_split():
    empty = SplitData(x=np.zeros((0, 20), np.float32), y=np.zeros((0, 5), np.float32), clip_ids=[])
    model = build("vggish_head", input_dim=20, hidden_units=4, dropout=0.0, seed=0)
    with pytest.raises(ValueError, match="0 validation clips"):
        fit(model, learnable(10, 0), empty, learning_rate=0.01, batch_size=4, max_epochs=1, patience=1, seed=0)


def test_start_at_train_mean_predicts_about_the_mean_before_training():
    model = build("vggish_head", input_dim=20, hidden_units=16, dropout=0.0, seed=0)
    train = learnable(200, 0)
    model.get_layer("standardize").adapt(train.x)
    start_at_train_mean(model, train.y)
    predictions = predict(model, train)
    np.testing.assert_allclose(predictions.mean(axis=0), train.y.mean(axis=0), atol=0.02)
    assert predictions.std(axis=0).max() < 0.05
