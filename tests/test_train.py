import keras
import numpy as np
import pandas as pd
import pytest

from impressions import SPLITS, TRAITS
from impressions.io.cache import CacheReader, write_cache
from impressions.models.registry import build
from impressions.models.sklearn_fit import train_sklearn
from impressions.models.task import Task
from impressions.models.train import TargetScale, one_minus_mae, softmax, start_at_train_mean, train_model

CLASSES = ("calm", "happy", "sad")


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


@pytest.mark.parametrize("weights", ["none", "balanced"])
def test_classification_starts_as_the_class_prior_the_loss_sees(weights):
    task = Task("classification", ("emotion",), CLASSES, class_weights=weights)
    model = build("vggish_head", input_dim=8, hidden_units=8, dropout=0.0, output_activation="linear", n_outputs=3, seed=0)
    y = np.eye(3, dtype=np.float32)[[0] * 6 + [1] * 3 + [2]]
    start_at_train_mean(model, y, classification=True, weights=task.weights(y))
    probabilities = softmax(model.predict(np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32), verbose=0))
    expected = [0.6, 0.3, 0.1] if weights == "none" else [1 / 3] * 3
    np.testing.assert_allclose(probabilities, np.tile(expected, (4, 1)), atol=1e-5)


def separable_clips(tmp_path, n=240, windows=3):
    """Clips of three classes, each class's embeddings around its own centre; class 0 is most of train."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 128)) * 2
    labels = np.concatenate([np.repeat([0, 0, 0, 1, 2], n // 5), rng.integers(3, size=n - n // 5 * 5)])
    rows, embeddings = [], []
    for i, label in enumerate(labels):
        embeddings.append((centres[label] + rng.normal(size=(windows, 128))).astype(np.float32))
        split = "train" if i % 5 < 3 else "val" if i % 5 == 3 else "test"
        rows.append({"clip_id": f"c{i:03d}", "split": split, "shard": "000", "emotion": CLASSES[label]})
    rows = pd.DataFrame(rows)
    write_cache(tmp_path / "000.h5", list(rows["clip_id"]), {"embeddings": embeddings}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    return rows


def test_the_head_learns_a_separable_problem_and_keeps_its_best_validation_epoch(tmp_path):
    rows = separable_clips(tmp_path)
    task = Task("classification", ("emotion",), CLASSES, metric="weighted_f1", class_weights="balanced")
    settings = {
        "seconds": 5,
        "pooling": "mean_std",
        "hidden_units": 16,
        "dropout": 0.0,
        "output_activation": "sigmoid",  # a regression setting: classification learns logits whatever it says
        "loss": "mae",
        "standardize_targets": False,
        "learning_rate": 0.003,
        "batch_size": 16,
        "max_epochs": 12,
        "patience": 4,
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
        task=task,
        log=lambda _: None,
    )
    test = pd.read_csv(outputs.predictions[2])
    assert list(test.columns) == ["clip_id", "emotion_true", "emotion_pred", "p_calm", "p_happy", "p_sad"]
    np.testing.assert_allclose(test[["p_calm", "p_happy", "p_sad"]].sum(axis=1), 1.0, atol=1e-5)
    assert (test["emotion_true"] == rows.set_index("clip_id").loc[test["clip_id"], "emotion"].to_numpy()).all()
    assert (test["emotion_pred"] == test["emotion_true"]).mean() > 0.9
    history = pd.read_csv(outputs.history)
    assert {"loss", "accuracy", "val_loss", "val_weighted_f1"} <= set(history.columns)
    val = pd.read_csv(outputs.predictions[1])
    counts = {c: ((val["emotion_true"] == c) & (val["emotion_pred"] == c)).sum() for c in CLASSES}
    support = {c: (val["emotion_true"] == c).sum() for c in CLASSES}
    predicted = {c: (val["emotion_pred"] == c).sum() for c in CLASSES}
    f1 = {c: 2 * counts[c] / (support[c] + predicted[c]) if support[c] + predicted[c] else 0.0 for c in CLASSES}
    weighted = sum(f1[c] * support[c] for c in CLASSES) / len(val)
    assert weighted == pytest.approx(history["val_weighted_f1"].max(), abs=1e-9)  # the saved weights are the best epoch's


def test_knn_classifies_by_the_mean_of_its_windows_votes_with_a_column_for_every_class(tmp_path):
    rows = separable_clips(tmp_path, n=60, windows=2)
    rows.loc[rows["emotion"] == "sad", "split"] = "test"  # a class absent from training
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    task = Task("classification", ("emotion",), CLASSES)
    outputs = Outputs(tmp_path)
    train_sklearn(
        "knn",
        manifest=tmp_path / "manifest.tsv",
        caches={"vggish": [str(tmp_path / "000.h5")]},
        settings={"n_neighbors": 1, "weights": "uniform"},
        outputs=outputs,
        task=task,
        log=lambda _: None,
    )
    test = pd.read_csv(outputs.predictions[2]).set_index("clip_id")
    assert (test["p_sad"] == 0).all()
    with CacheReader(tmp_path / "000.h5") as cache:
        windows = {clip: cache.get("embeddings", clip) for clip in rows["clip_id"]}
    train = rows[rows["split"] == "train"]
    x = np.concatenate([windows[c] for c in train["clip_id"]])
    y = np.concatenate([[CLASSES.index(e)] * len(windows[c]) for c, e in zip(train["clip_id"], train["emotion"])])
    mean, sd = x.mean(axis=0), x.std(axis=0)
    for clip in test.index:
        distances = (((windows[clip] - mean) / sd)[:, None, :] - ((x - mean) / sd)[None]) ** 2
        votes = np.eye(3)[y[distances.sum(axis=2).argmin(axis=1)]].mean(axis=0)  # 1-NN per window, averaged over the clip's
        np.testing.assert_allclose(test.loc[clip, ["p_calm", "p_happy", "p_sad"]].to_numpy(float), votes, atol=1e-6)


TWICE = """
import sys
sys.path.insert(0, {src!r})
from types import SimpleNamespace
from pathlib import Path
from impressions import SPLITS
from impressions.models.train import train_model
folder, out = Path({folder!r}), Path(sys.argv[1])
out.mkdir()
base = dict(loss="mse", standardize_targets=True, output_activation="linear", learning_rate=0.003, batch_size=8)
base.update(max_epochs=3, patience=3, shuffle_buffer=32, dropout=0.3)
models = {{
    "clip_cnn": ({{"spectrogram": [str(folder / "spectrogram" / "000.h5")]}}, dict(base, filters=[4, 8], dense_units=8)),
    "fusion": (  # with augmentation: random crop, flip and brightness
        {{"mfcc": [str(folder / "mfcc" / "000.h5")], "frames": [str(folder / "frames" / "000.h5")]}},
        dict(base, audio="conv2d", audio_input="mfcc", mfcc_length=20, visual="vgg", resnet_weights="", crop=16, vgg_filters=[4]),
    ),
}}
for name, (caches, settings) in models.items():
    outputs = SimpleNamespace(
        model=out / f"{{name}}.keras", history=out / f"{{name}}.csv", excluded=out / f"{{name}}.tsv",
        predictions=[out / f"{{name}}_{{s}}.csv" for s in SPLITS],
    )
    train_model(name, manifest=folder / "manifest.tsv", caches=caches, settings=settings, seed=3, threads=2, outputs=outputs, log=lambda _: None)
"""


def test_training_twice_in_fresh_processes_gives_the_same_predictions_byte_for_byte(tmp_path):
    """Two runs of the same config: seeded weights, shuffling, dropout and augmentation (crop,
    flips, brightness), deterministic kernels; the second run must not differ in a single byte."""
    import subprocess
    import sys
    from pathlib import Path

    rng = np.random.default_rng(5)
    clips = [f"c{i:02d}" for i in range(48)]
    splits = ["train"] * 32 + ["val"] * 8 + ["test"] * 8
    targets = rng.uniform(0.2, 0.8, size=(len(clips), 5))
    pd.DataFrame({"clip_id": clips, "split": splits, "shard": "000", **dict(zip(TRAITS, targets.T))}).to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    patches = [rng.normal(size=(3, 96, 64)).astype(np.float32) for _ in clips]
    for family in ("spectrogram", "mfcc", "frames"):  # a cache's file name is its shard
        (tmp_path / family).mkdir()
    write_cache(tmp_path / "spectrogram" / "000.h5", clips, {"clip_spectrogram": patches, "n_real_seconds": [np.array([3], np.int32)] * len(clips)}, {})
    write_cache(tmp_path / "mfcc" / "000.h5", clips, {"mfcc": [rng.normal(size=(24, 20)).astype(np.float32) for _ in clips]}, {})
    write_cache(tmp_path / "frames" / "000.h5", clips, {"frames": [rng.integers(0, 255, size=(6, 20, 24, 3), dtype=np.uint8) for _ in clips]}, {})
    script = TWICE.format(src=str(Path(__file__).resolve().parents[1] / "src"), folder=str(tmp_path))
    for run in ("one", "two"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True, capture_output=True)
    predictions = [f"{model}_{split}.csv" for model in ("clip_cnn", "fusion") for split in SPLITS]
    for name in [*predictions, "clip_cnn.csv", "fusion.csv"]:  # and the histories: every epoch's loss and metric
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert len(pd.read_csv(tmp_path / "one" / "fusion_test.csv")) == 8
