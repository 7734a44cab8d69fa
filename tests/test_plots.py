import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from impressions import TRAITS
from impressions.models.metrics import prediction_table
from impressions.report.plots import BINS, pick_samples, predicted_vs_true, sample_clips, save, training_curves, trait_distributions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def manifest(counts=None, seed=0):
    counts = counts or {"train": 12, "val": 5, "test": 3}
    rng = np.random.default_rng(seed)
    rows = [{"clip_id": f"{split}{i}", "split": split, **{t: rng.uniform() for t in TRAITS}} for split, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows)


def sample(clip_id, split, *, frames=4, height=16, width=24, mfcc_frames=30, n_mfcc=13, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "clip_id": clip_id,
        "split": split,
        "frames": rng.integers(0, 256, size=(frames, height, width, 3), dtype=np.uint8),
        "mfcc": rng.normal(size=(mfcc_frames, n_mfcc)).astype(np.float32),
        "sample_rate": 16000,
        "hop_length": 512,
        "labels": {t: float(v) for t, v in zip(TRAITS, rng.uniform(size=len(TRAITS)))},
    }


def history(val_one_minus_mae):
    epochs = np.arange(1, len(val_one_minus_mae) + 1)
    return pd.DataFrame(
        {
            "epoch": epochs,
            "loss": 0.2 / epochs,
            "one_minus_mae": 0.8 + 0.01 * epochs,
            "lr": 1e-3,
            "val_loss": 0.25 / epochs,
            "val_one_minus_mae": val_one_minus_mae,
        }
    )


def predictions(n, seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.uniform(size=(n, len(TRAITS)))
    y_pred = np.clip(y_true + rng.normal(scale=0.1, size=y_true.shape), 0, 1)
    return prediction_table([f"c{i}" for i in range(n)], y_true, y_pred)


def data_axes(fig):
    return [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: trait_distributions(manifest()),
        lambda: sample_clips([sample("a", "train"), sample("b", "test", seed=1)]),
        lambda: training_curves(history([0.8, 0.9]), "cnn"),
        lambda: predicted_vs_true(predictions(6), "cnn"),
    ],
)
def test_figures_are_readable_at_report_width(make):
    fig = make()
    fig.canvas.draw()
    assert fig.dpi == 100
    assert fig.get_figwidth() * fig.dpi == pytest.approx(900)
    assert fig.get_layout_engine() is not None
    assert fig.get_suptitle()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    assert min(t.get_fontsize() for t in texts) >= 9
    for ax in data_axes(fig):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_save_writes_a_png_of_the_figure_size_and_closes_it(tmp_path):
    fig = training_curves(history([0.8, 0.9, 0.85]), "cnn")
    path = tmp_path / "figures" / "curves.png"
    save(fig, path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert b"matplotlib" not in data  # no Software entry
    assert matplotlib.image.imread(path).shape[:2] == (360, 900)
    assert [p.name for p in path.parent.iterdir()] == ["curves.png"]
    assert not plt.fignum_exists(fig.number)


def test_save_gives_the_same_bytes_for_the_same_figure(tmp_path):
    save(predicted_vs_true(predictions(5), "cnn"), tmp_path / "a.png")
    save(predicted_vs_true(predictions(5), "cnn"), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_save_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "curves.png"
    path.write_bytes(b"old figure")
    fig = training_curves(history([0.8]), "cnn")

    def broken(target, **kwargs):
        target.write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        save(fig, path)
    assert path.read_bytes() == b"old figure"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    assert not plt.fignum_exists(fig.number)

    save(training_curves(history([0.8]), "cnn"), path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_trait_distributions_one_density_panel_per_trait():
    clips = manifest()
    fig = trait_distributions(clips)
    panels = data_axes(fig)
    assert [ax.get_title() for ax in panels] == list(TRAITS)
    for ax in panels:
        assert ax.get_xlim() == (0.0, 1.0)
        assert ax.get_xlabel() == "score (0-1)"
        assert ax.get_ylabel() == "density"
        assert len(ax.patches) == 3  # one step outline per split
    train_heights = panels[0].patches[0].get_xy()[:, 1]
    expected, _ = np.histogram(clips.loc[clips["split"] == "train", TRAITS[0]], bins=BINS, density=True)
    assert train_heights.max() == pytest.approx(expected.max())
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert [t.get_text() for t in legend.get_texts()] == ["train (n=12)", "val (n=5)", "test (n=3)"]


def test_trait_distributions_leaves_out_empty_splits_and_rejects_unknown_ones():
    fig = trait_distributions(manifest({"train": 4, "test": 2}))
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert [t.get_text() for t in legend.get_texts()] == ["train (n=4)", "test (n=2)"]
    with pytest.raises(ValueError, match="unknown split.*'dev'"):
        trait_distributions(manifest({"train": 4, "dev": 2}))


def test_sample_clips_one_row_per_clip_with_frames_mfcc_and_labels():
    samples = [sample("a.001", "train"), sample("b.002", "test", frames=6, mfcc_frames=45, n_mfcc=24, seed=1)]
    fig = sample_clips(samples)
    assert len(fig.subfigs) == len(samples)
    for row, clip in zip(fig.subfigs, samples):
        axes = {ax.get_label(): ax for ax in row.axes}
        assert set(axes) == {"frames", "mfcc", "traits", "<colorbar>"}

        (montage,) = axes["frames"].get_images()
        np.testing.assert_array_equal(montage.get_array(), np.concatenate(list(clip["frames"]), axis=1))
        assert clip["clip_id"] in axes["frames"].get_title() and clip["split"] in axes["frames"].get_title()

        (mesh,) = axes["mfcc"].collections
        assert mesh.get_array().shape == clip["mfcc"].T.shape
        z = mesh.get_array()  # each coefficient standardised over time
        np.testing.assert_allclose(z * clip["mfcc"].T.std(axis=1, keepdims=True) + clip["mfcc"].T.mean(axis=1, keepdims=True), clip["mfcc"].T, atol=1e-4)
        np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-5)
        assert axes["mfcc"].get_xlabel() == "time (s)"
        assert axes["mfcc"].get_ylabel() == "MFCC coefficient"
        hop_seconds = clip["hop_length"] / clip["sample_rate"]
        assert axes["mfcc"].get_xlim()[1] == pytest.approx(len(clip["mfcc"]) * hop_seconds, abs=hop_seconds)

        widths = [bar.get_width() for bar in axes["traits"].patches]
        assert widths == pytest.approx([clip["labels"][t] for t in TRAITS])
        assert axes["traits"].get_xlim() == (0.0, 1.0)
        assert axes["traits"].get_xlabel() == "annotated score (0-1)"


def test_training_curves_mark_the_best_validation_epoch():
    fig = training_curves(history([0.80, 0.86, 0.84, 0.85]), "cnn")
    panels = data_axes(fig)
    assert [ax.get_ylabel() for ax in panels] == ["loss", "1-MAE"]
    for ax in panels:
        assert ax.get_xlabel() == "epoch"
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert [list(line.get_xdata()) for line in dashed] == [[2, 2]]
        assert "best epoch 2" in [t.get_text() for t in ax.get_legend().get_texts()]
    val = [line for line in panels[1].get_lines() if line.get_label() == "validation"][0]
    assert list(val.get_ydata()) == [0.80, 0.86, 0.84, 0.85]
    named = data_axes(training_curves(history([0.8]), "cnn", "MSE loss (standardised targets)"))
    assert named[0].get_ylabel() == "MSE loss (standardised targets)"


def test_training_curves_single_epoch_is_drawn_with_markers(tmp_path):
    fig = training_curves(history([0.8]), "cnn")
    for ax in data_axes(fig):
        curves = [line for line in ax.get_lines() if line.get_label() in ("train", "validation")]
        assert len(curves) == 2 and all(line.get_marker() not in (None, "None", "") for line in curves)
        assert "best epoch 1" in [t.get_text() for t in ax.get_legend().get_texts()]
        low, high = ax.get_xlim()
        assert [tick for tick in ax.get_xticks() if low <= tick <= high] == [1]  # whole epochs only
    save(fig, tmp_path / "one.png")
    assert (tmp_path / "one.png").read_bytes().startswith(PNG_SIGNATURE)


def test_training_curves_name_missing_columns():
    with pytest.raises(ValueError, match="val_one_minus_mae"):
        training_curves(history([0.8]).drop(columns="val_one_minus_mae"), "cnn")


def test_predicted_vs_true_scatters_the_data_with_its_metrics():
    table = predictions(8)
    fig = predicted_vs_true(table, "cnn", "val")
    panels = data_axes(fig)
    assert len(panels) == len(TRAITS)
    assert "cnn" in fig.get_suptitle() and "val" in fig.get_suptitle() and "8 clips" in fig.get_suptitle()
    for ax, trait in zip(panels, TRAITS):
        y_true, y_pred = table[f"{trait}_true"].to_numpy(), table[f"{trait}_pred"].to_numpy()
        (points,) = ax.collections
        np.testing.assert_allclose(points.get_offsets(), np.column_stack([y_true, y_pred]))
        one_minus_mae = 1 - np.abs(y_true - y_pred).mean()
        r2 = 1 - ((y_true - y_pred) ** 2).sum() / ((y_true - y_true.mean()) ** 2).sum()
        assert ax.get_title() == f"{trait}\n1-MAE {one_minus_mae:.3f}, R² {r2:.3f}"
        assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("true score", "predicted score")
        (identity,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert list(identity.get_xdata()) == list(identity.get_ydata()) == [0.0, 1.0]


def test_predicted_vs_true_r2_is_not_available_for_one_clip():
    table = predictions(1)
    fig = predicted_vs_true(table, "knn")
    for ax, trait in zip(data_axes(fig), TRAITS):
        error = abs(table[f"{trait}_true"].iloc[0] - table[f"{trait}_pred"].iloc[0])
        assert ax.get_title() == f"{trait}\n1-MAE {1 - error:.3f}, R² n/a"
    assert "(1 clip)" in fig.get_suptitle()


def test_pick_samples_spans_the_training_annotations_lowest_middle_highest():
    table = pd.DataFrame({"clip_id": [f"c{i}" for i in range(7)], "split": ["train"] * 5 + ["test"] * 2})
    for trait in TRAITS:
        table[trait] = [0.5, 0.1, 0.9, 0.3, 0.7, 0.0, 1.0]
    assert pick_samples(table) == ["c1", "c0", "c2"]  # means 0.1, 0.5, 0.9 among the train clips
    assert pick_samples(table.head(2)) == ["c1", "c0"]
    assert pick_samples(table[table["split"] == "test"], n=1) == ["c5"]  # no train clip: any split


# --- classification ---------------------------------------------------------------------------

from impressions.models.metrics import evaluate  # noqa: E402
from impressions.models.task import Task  # noqa: E402
from impressions.report.plots import class_distribution, class_f1, confusion_matrices  # noqa: E402

EMOTION = Task("classification", ("emotion",), ("neutral", "happy", "sad", "angry"), "weighted_f1", "balanced")


def class_manifest():
    labels = {"train": ["neutral"] * 5 + ["happy"] * 3 + ["sad"] * 2, "val": ["neutral", "happy", "happy"], "test": ["sad", "neutral"]}
    rows = [{"clip_id": f"{split}{i}", "split": split, "emotion": label} for split, values in labels.items() for i, label in enumerate(values)]
    return pd.DataFrame(rows + [{"clip_id": "p0", "split": "predict", "emotion": np.nan}])


def class_predictions(true, pred, task=EMOTION, split="test"):
    eye = np.eye(len(task.classes))
    return prediction_table([f"{split}{i}" for i in range(len(true))], eye[task.class_index(true)], 0.1 + 0.6 * eye[task.class_index(pred)], task)


TRUE = ["neutral", "neutral", "neutral", "happy", "sad", "sad"]
PRED = ["neutral", "neutral", "happy", "happy", "sad", "neutral"]


def class_metrics(noise_clip=0):
    predictions = {split: class_predictions(TRUE, PRED, split=split) for split in ("train", "val", "test")}
    wrong = list(PRED)
    wrong[noise_clip] = "angry"
    predictions["test"] = class_predictions(TRUE, wrong)
    ceiling = pd.DataFrame(
        np.eye(4)[EMOTION.class_index(TRUE * 3)], index=[f"{s}{i}" for s in ("train", "val", "test") for i in range(6)], columns=EMOTION.classes
    )
    return evaluate(predictions, task=EMOTION, ceiling=ceiling)


def history_classification(val_f1):
    epochs = np.arange(1, len(val_f1) + 1)
    return pd.DataFrame(
        {
            "epoch": epochs,
            "accuracy": 0.5 + 0.05 * epochs,
            "loss": 1.0 / epochs,
            "val_accuracy": 0.4 + 0.01 * epochs,
            "val_loss": 1.2 / epochs,
            "val_weighted_f1": val_f1,
        }
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: class_distribution(class_manifest(), EMOTION),
        lambda: confusion_matrices(class_predictions(TRUE, PRED), EMOTION, "knn"),
        lambda: class_f1({"knn": class_metrics(), "clip_cnn": class_metrics(1)}),
        lambda: sample_clips([{**sample("a", "train"), "frames": None, "labels": {"emotion": "sad"}, "classes": list(EMOTION.classes)}]),
        lambda: training_curves(history_classification([0.3, 0.5, 0.4]), "clip_cnn", "cross-entropy loss", EMOTION),
    ],
)
def test_classification_figures_are_readable_at_report_width(make):
    test_figures_are_readable_at_report_width(make)


def test_class_distribution_counts_each_class_per_split_without_the_unlabelled_clips():
    fig = class_distribution(class_manifest(), EMOTION)
    counts, shares = data_axes(fig)
    heights = [bar.get_height() for bar in counts.patches]
    assert heights == [5, 3, 2, 0, 1, 2, 0, 0, 1, 0, 1, 0]  # train, val, test bars, each in class order; the predict clip left out
    assert [bar.get_height() for bar in shares.patches][:4] == pytest.approx([0.5, 0.3, 0.2, 0.0])
    assert [t.get_text() for t in counts.get_xticklabels()] == list(EMOTION.classes) and counts.get_xlabel() == "emotion"
    assert [t.get_text() for t in shares.get_legend().get_texts()] == ["train (n=10)", "val (n=3)", "test (n=2)"]
    assert "15 clips, 1 unlabelled clip left out" in fig.get_suptitle()
    with pytest.raises(ValueError, match="unknown split.*'dev'"):
        class_distribution(class_manifest().replace({"split": {"val": "dev"}}), EMOTION)


def test_confusion_matrices_show_counts_and_rows_normalised_by_the_true_class():
    fig = confusion_matrices(class_predictions(TRUE, PRED), EMOTION, "knn", "test")
    counts, normalized = data_axes(fig)
    expected = np.array([[2, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])  # true by row: neutral, happy, sad, angry
    np.testing.assert_array_equal(counts.get_images()[0].get_array(), expected)
    np.testing.assert_allclose(normalized.get_images()[0].get_array(), [[2 / 3, 1 / 3, 0, 0], [0, 1, 0, 0], [0.5, 0, 0.5, 0], [0, 0, 0, 0]])
    assert [t.get_text() for t in counts.texts][:4] == ["2", "1", "0", "0"] and [t.get_text() for t in normalized.texts][:2] == ["0.67", "0.33"]
    assert (counts.get_xlabel(), counts.get_ylabel()) == ("predicted emotion", "true emotion")
    assert "knn" in fig.get_suptitle() and "6 clips" in fig.get_suptitle() and "accuracy 0.667" in fig.get_suptitle()


def test_class_f1_draws_every_models_f1_per_class_and_the_yardsticks():
    metrics = {"knn": class_metrics(), "clip_cnn": class_metrics(1)}
    fig = class_f1(metrics)
    (ax,) = data_axes(fig)
    heights = [bar.get_height() for bar in ax.patches]
    for i, name in enumerate(metrics):
        per_class = metrics[name]["splits"]["test"]["model"]["per_class"]
        assert heights[4 * i : 4 * i + 4] == pytest.approx([per_class[c]["f1"] for c in EMOTION.classes])
    prior, bayes = ax.collections
    assert bayes.get_label() == "Bayes classifier" and [seg[0][1] for seg in bayes.get_segments()] == pytest.approx([1, 1, 1, 0])
    assert prior.get_label() == "class-prior guess"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["neutral\n(n=3)", "happy\n(n=1)", "sad\n(n=2)", "angry\n(n=0)"]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["knn", "clip_cnn", "class-prior guess", "Bayes classifier"]


def test_sample_clips_without_video_have_no_frames_and_mark_the_class():
    fig = sample_clips([{**sample("a", "train"), "frames": None, "labels": {"emotion": "sad"}, "classes": list(EMOTION.classes)}])
    (row,) = fig.subfigs
    axes = {ax.get_label(): ax for ax in row.axes}
    assert set(axes) == {"mfcc", "classes", "<colorbar>"}
    assert [bar.get_width() for bar in axes["classes"].patches] == [0.0, 0.0, 1.0, 0.0]
    assert axes["classes"].get_ylabel() == "emotion" and axes["classes"].get_title() == "annotation: sad"
    assert "a (train)" in axes["mfcc"].get_title() and "frames" not in fig.get_suptitle()


def test_pick_samples_of_a_classification_takes_the_first_clip_of_the_most_frequent_classes():
    manifest = class_manifest().sample(frac=1.0, random_state=0)
    assert pick_samples(manifest, task=EMOTION) == ["train0", "train5", "train8"]  # neutral (5), happy (3), sad (2)
    assert pick_samples(manifest, n=1, task=EMOTION) == ["train0"]


def test_training_curves_of_a_classification_mark_the_best_epoch_of_the_tasks_metric():
    fig = training_curves(history_classification([0.3, 0.5, 0.4]), "clip_cnn", "cross-entropy loss", EMOTION)
    loss, metric = data_axes(fig)
    assert loss.get_ylabel() == "cross-entropy loss" and metric.get_ylabel() == "accuracy, weighted_f1"
    assert [list(line.get_xdata()) for line in metric.get_lines() if line.get_linestyle() == "--"] == [[2, 2]]
    (clips,) = [line for line in metric.get_lines() if line.get_label() == "validation clips: weighted_f1"]
    assert list(clips.get_ydata()) == [0.3, 0.5, 0.4]
    with pytest.raises(ValueError, match="val_weighted_f1"):
        training_curves(history_classification([0.3]).drop(columns="val_weighted_f1"), "clip_cnn", task=EMOTION)
