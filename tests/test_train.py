import keras
import numpy as np
import pandas as pd
import pytest

from impressions import SPLITS, TRAITS
from impressions.io.cache import write_cache
from impressions.models.registry import build
from impressions.models.train import TargetScale, one_minus_mae, start_at_train_mean, train_model


def test_target_scale_round_trip_and_statistics_from_train():
    y = np.random.default_rng(0).uniform(size=(50, 5)).astype(np.float32)
    scale = TargetScale(y, standardize=True)
    z = scale.forward(y)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-3)
    np.testing.assert_allclose(scale.back(z), y, atol=1e-6)
    np.testing.assert_array_equal(TargetScale(y, standardize=False).forward(y), y)


def test_one_minus_mae_is_on_the_original_scale():
    y = np.random.default_rng(1).uniform(size=(20, 5)).astype(np.float32)
    scale = TargetScale(y, standardize=True)
    prediction = y + 0.1
    metric = one_minus_mae(scale)
    metric.update_state(scale.forward(y), scale.forward(prediction))
    assert float(metric.result()) == pytest.approx(0.9, abs=1e-4)


@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_start_at_train_mean_predicts_about_the_mean_before_training(activation):
    model = build("vggish_head", input_dim=20, hidden_units=16, dropout=0.0, seed=0, output_activation=activation)
    x = np.random.default_rng(0).normal(size=(200, 20)).astype(np.float32)
    y = np.random.default_rng(1).uniform(0.3, 0.7, size=(200, 5)).astype(np.float32)
    model.get_layer("standardize").adapt(x)
    start_at_train_mean(model, y)
    predictions = model.predict(x, verbose=0)
    np.testing.assert_allclose(predictions.mean(axis=0), y.mean(axis=0), atol=0.02)
    assert predictions.std(axis=0).max() < 0.05


class Outputs:
    def __init__(self, folder):
        self.model, self.history, self.excluded = folder / "model.keras", folder / "history.csv", folder / "excluded.tsv"
        self.predictions = [folder / f"predictions_{s}.csv" for s in SPLITS]


def test_train_model_learns_a_learnable_target_and_writes_its_outputs(tmp_path):
    rng = np.random.default_rng(0)
    rows, embeddings = [], []
    for i in range(400):
        emb = rng.normal(size=(2, 128)).astype(np.float32)
        target = 0.5 + 0.12 * np.tanh(emb[0, :5])
        embeddings.append(emb)
        split = "train" if i < 300 else "val" if i < 350 else "test"
        rows.append({"clip_id": f"c{i:03d}", "split": split, "shard": "000", **dict(zip(TRAITS, target))})
    rows = pd.DataFrame(rows)
    write_cache(tmp_path / "000.h5", list(rows["clip_id"]), {"embeddings": embeddings}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    settings = {
        "seconds": 1,
        "hidden_units": 32,
        "dropout": 0.0,
        "output_activation": "sigmoid",
        "loss": "mae",
        "standardize_targets": False,
        "learning_rate": 0.003,
        "batch_size": 16,
        "max_epochs": 30,
        "patience": 5,
        "shuffle_buffer": 64,
    }
    outputs = Outputs(tmp_path)
    train_model(
        "vggish_head",
        manifest=tmp_path / "manifest.tsv",
        caches={"vggish": [str(tmp_path / "000.h5")]},
        settings=settings,
        seed=0,
        threads=2,
        outputs=outputs,
        log=lambda _: None,
    )
    history = pd.read_csv(outputs.history)
    assert {"epoch", "loss", "one_minus_mae", "val_loss", "val_one_minus_mae"} <= set(history.columns)
    test = pd.read_csv(outputs.predictions[2])
    assert len(test) == 50
    truth, predicted = test[[f"{t}_true" for t in TRAITS]].to_numpy(), test[[f"{t}_pred" for t in TRAITS]].to_numpy()
    baseline = np.abs(truth - rows.loc[rows["split"] == "train", list(TRAITS)].to_numpy().mean(axis=0)).mean()
    assert np.abs(truth - predicted).mean() < 0.75 * baseline
    assert isinstance(keras.saving.load_model(outputs.model, compile=False), keras.Model)


def test_standardised_targets_with_a_sigmoid_output_are_refused(tmp_path):
    write_cache(tmp_path / "000.h5", ["a"], {"embeddings": [np.zeros((6, 128), np.float32)]}, {})
    pd.DataFrame([{"clip_id": "a", "split": "train", "shard": "000", **{t: 0.5 for t in TRAITS}}]).to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    settings = {"seconds": 5, "standardize_targets": True, "output_activation": "sigmoid"}
    with pytest.raises(ValueError, match="standardised targets need output_activation 'linear'"):
        train_model(
            "vggish_head",
            manifest=tmp_path / "manifest.tsv",
            caches={"vggish": [str(tmp_path / "000.h5")]},
            settings=settings,
            seed=0,
            threads=1,
            outputs=Outputs(tmp_path),
            log=lambda _: None,
        )
