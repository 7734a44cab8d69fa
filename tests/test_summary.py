"""The run summary: comparison tables, the CAM table, and the page in markdown and HTML."""

import base64

import numpy as np
import pandas as pd
import pytest

from impressions import SPLITS, TRAITS
from impressions.models.metrics import evaluate, prediction_table
from impressions.report.summary import attention_table, blocks, cam_table, comparison, shown_output, summary_table, time_table, to_html, to_markdown

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def model_metrics(noise: float, seed: int = 0) -> dict:
    """metrics.json content of a model whose predictions are the labels plus `noise`."""
    rng = np.random.default_rng(seed)
    predictions, ceiling = {}, {}
    for split, n in zip(SPLITS, (20, 8, 8)):
        ids = [f"{split}{i}" for i in range(n)]
        truth = rng.uniform(0.2, 0.8, size=(n, len(TRAITS)))
        predictions[split] = prediction_table(ids, truth, truth + rng.normal(0, noise, size=truth.shape))
        ceiling |= {clip: truth[i] + 0.01 for i, clip in enumerate(ids)}
    return evaluate(predictions, ceiling=pd.DataFrame.from_dict(ceiling, orient="index", columns=list(TRAITS)))


@pytest.fixture
def metrics():
    return {"knn": model_metrics(0.2), "vggish_head": model_metrics(0.05), "fusion": model_metrics(0.1)}


def test_comparison_ranks_models_by_mean_and_ends_with_the_yardsticks(metrics):
    table = comparison(metrics)
    assert list(table.index) == ["vggish_head", "fusion", "knn", "train-mean baseline", "noise ceiling (ground truth)"]
    assert list(table.columns) == ["clips", *TRAITS, "mean", "R²", "MAE", "sd ratio"]
    test = metrics["fusion"]["splits"]["test"]
    assert table.loc["fusion", "neuroticism"] == test["model"]["neuroticism"]["one_minus_mae"]
    assert table.loc["fusion", "R²"] == test["model"]["mean"]["r2"]
    assert table.loc["noise ceiling (ground truth)", "mean"] == pytest.approx(0.99)
    assert table.loc["train-mean baseline", "sd ratio"] == pytest.approx(0.0)


def test_yardsticks_come_from_the_model_scored_on_most_clips_and_fewer_is_said(metrics):
    from impressions.report.summary import fewer_clips

    short = model_metrics(0.05, seed=3)
    short["splits"]["test"]["n_clips"] = 6
    short["splits"]["test"]["baseline"]["mean"]["one_minus_mae"] = 0.0  # would show if its yardsticks were used
    metrics = {"clip_cnn": short, **metrics}
    table = comparison(metrics)
    assert table.loc["train-mean baseline", "clips"] == 8 and table.loc["clip_cnn", "clips"] == 6
    assert table.loc["train-mean baseline", "mean"] == metrics["knn"]["splits"]["test"]["baseline"]["mean"]["one_minus_mae"]
    assert fewer_clips(metrics) == {"clip_cnn": 6}
    assert "fewer test clips than the yardsticks (the rest are in `models/<model>/excluded.tsv`): clip_cnn (6)." in to_markdown(blocks(**page_inputs(metrics)))


def test_summary_table_has_every_model_and_yardstick_on_every_split(metrics):
    table = summary_table(metrics)
    assert len(table) == len(SPLITS) * (len(metrics) + 2)
    assert {f"{t}_1mae" for t in (*TRAITS, "mean")} | {f"{t}_r2" for t in (*TRAITS, "mean")} <= set(table.columns)
    row = table[(table["split"] == "val") & (table["model"] == "knn")].iloc[0]
    assert row["openness_r2"] == metrics["knn"]["splits"]["val"]["model"]["openness"]["r2"] and row["n_clips"] == 8


def test_summary_tsv_has_the_columns_it_promises_and_no_ceiling_rows_without_a_ceiling(metrics):
    table = summary_table(metrics)
    scores = [f"{t}_1mae" for t in (*TRAITS, "mean")] + [f"{t}_r2" for t in (*TRAITS, "mean")]
    assert list(table.columns) == ["split", "model", "n_clips", *scores, "mean_mae", "mean_pred_std", "mean_label_std"]
    row = table[(table["split"] == "test") & (table["model"] == "fusion")].iloc[0]
    mean = metrics["fusion"]["splits"]["test"]["model"]["mean"]
    assert (row["mean_mae"], row["mean_pred_std"], row["mean_label_std"]) == (mean["mae"], mean["pred_std"], mean["label_std"])
    for result in metrics.values():
        for split in SPLITS:
            del result["splits"][split]["ceiling"]
    without = summary_table(metrics)
    assert len(without) == len(SPLITS) * (len(metrics) + 1) and "noise ceiling (ground truth)" not in set(without["model"])
    assert "noise ceiling (ground truth)" not in comparison(metrics).index


LOCALISATION = {
    "model": "summary_cam_cnn",
    "hidden_band": {"trait": "neuroticism", "low_hz": 1800.0, "high_hz": 2600.0, "start_s": 1.0, "end_s": 4.0},
    "traits": {
        t: {
            "band_mass": 0.3 if t == "neuroticism" else 0.1,
            "band_share": 0.125,
            "box_mass": 0.1,
            "box_share": 0.03,
            "peak_band_hz": 2200.0,
            "peak_in_band": True,
            "cue_peak_band_hz": 2000.0,
            "time_mass": 0.5 if t == "neuroticism" else 0.3,
            "time_share": 0.24,
            "peak_time_s": 2.0,
        }
        for t in TRAITS
    },
}


def test_cam_table_sets_the_hidden_traits_mass_against_its_share_and_the_other_traits():
    one_d = {"hidden_band": LOCALISATION["hidden_band"], "traits": {t: {"time_mass": 0.6, "time_share": 0.23, "peak_time_s": 2.5} for t in TRAITS}}
    table = cam_table({"summary_cam_cnn": LOCALISATION, "rawwav_cam_cnn": one_d})
    assert table.loc["summary_cam_cnn", "band: mass (other traits) / share"] == "0.300 (0.100) / 0.125"
    assert table.loc["summary_cam_cnn", "time: mass (other traits) / share"] == "0.500 (0.300) / 0.240"
    assert table.loc["summary_cam_cnn", "peak band during the cue (Hz)"] == "2000"
    assert table.loc["rawwav_cam_cnn", "time: mass (other traits) / share"] == "0.600 (0.600) / 0.230"
    assert table.loc["rawwav_cam_cnn", "band: mass (other traits) / share"] == "-"
    assert cam_table({"x": {"hidden_band": None, "traits": {}}}).empty


def page_inputs(metrics, pretrained=False, localisations=None):
    manifest = pd.DataFrame({"clip_id": ["a", "b", "c"], "split": ["train", "val", "test"]})
    excluded = pd.DataFrame(
        {
            "clip_id": ["d", "c"],
            "split": ["train", "test"],
            "path": ["d.mp4", "c.mp4"],
            "stage": ["probe", "frames"],
            "reason": ["no audio <stream>", "no video stream"],
        }
    )
    embedder = {"pretrained": pretrained, "description": "TF Hub model x" if pretrained else "UNTRAINED VGGish (seed 0)"}
    localisations = localisations or {}
    figures = {
        "data": ["plots/trait_distributions.png", "plots/sample_clips.png"],
        "training": [f"plots/{m}/training_curves.png" for m in metrics if m != "knn"],
        "predictions": [f"plots/{m}/predicted_vs_true.png" for m in metrics],
        "cam_profiles": {m: f"cam/{m}/profiles.png" for m in localisations},
        "cam_galleries": {m: {t: f"cam/{m}/galleries/{t}.png" for t in TRAITS} for m in localisations},
    }
    return dict(
        dataset="demo",
        manifest=manifest,
        excluded=excluded,
        embedder=embedder,
        metrics=metrics,
        localisations=localisations,
        figures=figures,
        keras_models=[m for m in metrics if m != "knn"],
    )


def test_markdown_flags_untrained_vggish_lists_exclusions_and_links_every_figure(metrics):
    text = to_markdown(blocks(**page_inputs(metrics)))
    assert "WARNING: VGGish ran WITHOUT pretrained weights" in text
    assert "`d` (train, probe): no audio <stream>" in text and "`c` (test, frames): no video stream" in text
    assert "| train | 1 | 1 |" in text and "| test | 1 | 0 |" in text
    assert text.index("| vggish_head |") < text.index("| fusion |") < text.index("| train-mean baseline |")
    assert "![sample clips](plots/sample_clips.png)" in text and text.count("](plots/") == 2 + 2 + 3
    assert "Class activation maps" not in text


def test_pretrained_run_has_no_warning_and_the_cam_section_shows_the_hidden_traits_gallery(metrics):
    text = to_markdown(blocks(**page_inputs(metrics, pretrained=True, localisations={"summary_cam_cnn": LOCALISATION})))
    assert "WARNING" not in text and "TF Hub model x" in text
    assert "| summary_cam_cnn | neuroticism | 0.300 (0.100) / 0.125 |" in text
    assert "(cam/summary_cam_cnn/galleries/neuroticism.png)" in text and "(cam/summary_cam_cnn/profiles.png)" in text


def test_html_embeds_every_image_and_escapes_text(metrics, tmp_path):
    page = blocks(**page_inputs(metrics, localisations={"summary_cam_cnn": LOCALISATION}))
    images = [content[0] for kind, content in page if kind == "image"]
    for relpath in images:
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_bytes(PNG)
    text = to_html(page, tmp_path)
    assert text.count("src='data:image/png;base64,") == len(images) == 2 + 2 + 3 + 2
    assert base64.b64encode(PNG).decode() in text and "src='plots/" not in text
    assert "no audio &lt;stream&gt;" in text and "<strong>WARNING: VGGish ran WITHOUT pretrained weights.</strong>" in text
    assert "<code>vggish.source: hub</code>" in text and text.count("<table") == 4
    headings = [content for kind, content in page if kind == "h2"]
    assert all(f"<a href='#s{i}'>" in text and f"<h2 id='s{i}'>" in text for i in range(len(headings)))


def test_time_table_sums_each_rules_jobs_and_the_page_ends_with_it(metrics):
    jobs = pd.DataFrame(
        [
            {"rule": "wav", "job": "000", "s": 2.0, "max_rss": 100.0},
            {"rule": "wav", "job": "001", "s": 3.0, "max_rss": 120.0},
            {"rule": "train", "job": "fusion", "s": 15.0, "max_rss": 900.0},
        ]
    )
    table = time_table(jobs)
    assert list(table.index) == ["train", "wav", "all"] and table.index.name == "rule"
    assert table.loc["wav", "jobs"] == 2 and table.loc["wav", "seconds"] == 5.0 and table.loc["wav", "share (%)"] == 25.0
    assert table.loc["wav", "longest job"] == "001" and table.loc["wav", "its seconds"] == 3.0 and table.loc["wav", "peak memory (MB)"] == 120.0
    assert list(table.loc["all"]) == [3, 20.0, 100.0, "train fusion", 15.0, 900.0]
    text = to_markdown(blocks(**page_inputs(metrics), timings=jobs))
    assert text.index("## Where the time went") > text.index("## Training curves")
    assert "| wav | 2 | 5.0 | 25.0 | 001 | 3.0 | 120.0 |" in text
    assert "Where the time went" not in to_markdown(blocks(**page_inputs(metrics)))


def test_page_without_figures_keeps_text_and_tables(metrics):
    page = blocks(**page_inputs(metrics, localisations={"summary_cam_cnn": LOCALISATION}))
    kept = without_figures(page)
    assert "<img" not in to_html(kept, "/nonexistent") and [b for b in kept if b[0] != "h2"] == [b for b in page if b[0] not in ("image", "h2")]
    headings = [content for kind, content in kept if kind == "h2"]
    assert "Class activation maps: where the traits were heard" in headings and "Data" not in headings and "Training curves" not in headings


# --- classification ---------------------------------------------------------------------------

from impressions.models.task import Task  # noqa: E402
from impressions.report.summary import class_comparison, class_f1_table, without_figures  # noqa: E402

EMOTION = Task("classification", ("emotion",), ("neutral", "happy", "sad"), "macro_f1", "balanced")
TRUTH = ["neutral"] * 4 + ["happy"] * 2 + ["sad"] * 2


def class_model(wrong: int, seed: int = 0) -> dict:
    """metrics.json content of a classifier that gets `wrong` of every split's eight clips wrong (as "sad")."""
    rng = np.random.default_rng(seed)
    eye, predictions, posterior = np.eye(3), {}, {}
    for split in SPLITS:
        ids = [f"{split}{i}" for i in range(len(TRUTH))]
        guess = list(TRUTH)
        for i in rng.choice(6, size=wrong, replace=False):  # among the neutral and happy clips
            guess[i] = "sad"
        predictions[split] = prediction_table(ids, eye[EMOTION.class_index(TRUTH)], 0.2 + 0.6 * eye[EMOTION.class_index(guess)], EMOTION)
        posterior |= {clip: eye[EMOTION.class_index([c])[0]] for clip, c in zip(ids, TRUTH)}
    return evaluate(predictions, task=EMOTION, ceiling=pd.DataFrame.from_dict(posterior, orient="index", columns=list(EMOTION.classes)))


@pytest.fixture
def class_metrics():
    return {"knn": class_model(4), "clip_cnn": class_model(1), "fusion": class_model(2)}


YARDSTICK_ROWS = ["majority class (train)", "class-prior guess (train frequencies)", "Bayes classifier (ground truth)"]


def test_classification_comparison_is_sorted_by_the_tasks_metric_and_ends_with_the_yardsticks(class_metrics):
    table = comparison(class_metrics)
    assert list(table.index) == ["clip_cnn", "fusion", "knn", *YARDSTICK_ROWS]
    assert list(table.columns) == ["clips", "accuracy", "balanced accuracy", "weighted F1", "macro F1"]
    assert list(table["macro F1"].iloc[:3]) == sorted(table["macro F1"].iloc[:3], reverse=True)
    test = class_metrics["fusion"]["splits"]["test"]
    assert table.loc["fusion", "weighted F1"] == test["model"]["weighted_f1"] and table.loc["fusion", "clips"] == 8
    assert table.loc["clip_cnn", "accuracy"] == pytest.approx(7 / 8)
    assert table.loc["majority class (train)", "accuracy"] == pytest.approx(0.5)  # neutral, half the clips
    assert table.loc["class-prior guess (train frequencies)", "accuracy"] == pytest.approx(0.5 * 0.5 + 0.25 * 0.25 * 2)
    assert table.loc["Bayes classifier (ground truth)", "macro F1"] == pytest.approx(1.0)


def test_classification_comparison_follows_another_metric(class_metrics):
    metrics = {name: {**m, "task": {**m["task"], "metric": "accuracy"}} for name, m in class_metrics.items()}
    metrics["knn"]["splits"]["test"]["model"]["accuracy"] = 1.0  # now the best by accuracy, still the worst by macro F1
    assert list(comparison(metrics).index[:3]) == ["knn", "clip_cnn", "fusion"]


def test_class_f1_table_and_summary_table_of_a_classification(class_metrics):
    f1 = class_f1_table(class_metrics)
    assert list(f1.columns) == ["neutral (n=4)", "happy (n=2)", "sad (n=2)"]
    assert list(f1.index) == ["clip_cnn", "fusion", "knn", *YARDSTICK_ROWS]
    assert f1.loc["knn", "sad (n=2)"] == class_metrics["knn"]["splits"]["test"]["model"]["per_class"]["sad"]["f1"]
    assert f1.loc["majority class (train)", "happy (n=2)"] == 0.0
    table = summary_table(class_metrics)
    assert len(table) == len(SPLITS) * (len(class_metrics) + 3)
    assert {"accuracy", "balanced_accuracy", "weighted_f1", "macro_f1", "f1_sad", "precision_happy", "recall_neutral"} <= set(table.columns)
    row = table[(table["split"] == "val") & (table["model"] == "Bayes classifier (ground truth)")].iloc[0]
    assert row["accuracy"] == 1.0 and row["n_clips"] == 8


def class_page_inputs(metrics, localisations=None):
    inputs = page_inputs(metrics, pretrained=True, localisations=localisations)
    inputs["manifest"] = pd.DataFrame(
        {"clip_id": ["a", "b", "c", "d"], "split": ["train", "train", "test", "predict"], "emotion": ["sad", "happy", "sad", None]}
    )
    inputs["figures"] |= {
        "data": ["plots/class_distribution.png", "plots/sample_clips.png"],
        "predictions": [f"plots/{m}/confusion_matrix.png" for m in metrics],
        "models": ["plots/class_f1.png"],
        "cam_galleries": {m: {c: f"cam/{m}/galleries/{c}.png" for c in EMOTION.classes} for m in inputs["localisations"]},
    }
    return inputs


def test_classification_page_shows_the_class_tables_and_embeds_the_confusion_matrices_and_class_f1(class_metrics, tmp_path):
    localisation = {"model": "clip_cnn", "hidden_band": None, "traits": {c: {"time_mass": 0.3, "time_share": 0.2, "peak_time_s": 1.0} for c in EMOTION.classes}}
    page = blocks(**class_page_inputs(class_metrics, {"clip_cnn": localisation}))
    text = to_markdown(page)
    assert "## Clips per class (emotion)" in text and "| train | 0 | 1 | 1 |" in text and "| test | 0 | 0 | 1 |" in text
    assert text.index("| clip_cnn |") < text.index("| fusion |") < text.index("| knn |") < text.index("| majority class (train) |")
    assert "| Bayes classifier (ground truth) | 8 | 1.0000 | 1.0000 | 1.0000 | 1.0000 |" in text
    assert "Models are sorted by macro F1" in text and "(neutral) for every clip" in text
    assert "## Test split: F1 per class" in text and "| neutral (n=4) | happy (n=2) | sad (n=2) |" in text
    assert "## Macro F1 per split" in text and "1-MAE" not in text
    assert "Class activation maps: where the classes were heard" in text
    per_class = class_metrics["clip_cnn"]["splits"]["test"]["model"]["per_class"]
    best = max(EMOTION.classes, key=lambda c: per_class[c]["f1"])
    assert f"(cam/clip_cnn/galleries/{best}.png)" in text and text.count("(cam/clip_cnn/galleries/") == 1  # its best class on test by F1
    assert "![knn: confusion matrix](plots/knn/confusion_matrix.png)" in text and "![F1 per class of every model (test split)](plots/class_f1.png)" in text
    images = [content[0] for kind, content in page if kind == "image"]
    for relpath in images:
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_bytes(PNG)
    assert to_html(page, tmp_path).count("src='data:image/png;base64,") == len(images) == 2 + 2 + 2 + 3 + 1


def test_the_classification_tables_are_indexed_by_model(class_metrics):
    assert class_f1_table(class_metrics).index.name == "model" and class_comparison(class_metrics).index.name == "model"


def cells(block) -> list[list[str]]:
    """A table block as text: its header, then its rows."""
    kind, table = block
    assert kind == "table"
    return [list(table.columns), *table.values.tolist()]


SCORES = ("accuracy", "balanced_accuracy", "weighted_f1", "macro_f1")


def test_the_classification_section_block_by_block(class_metrics):
    """Every heading, table and sentence of the classification results, in order, with the counts,
    scores and decimals read from the metrics (no bootstrap in these metrics: no intervals section)."""
    page = blocks(**class_page_inputs(class_metrics))
    start = page.index(("h2", "Clips per class (emotion)"))
    section = page[start : start + 11]
    assert [(kind, content if kind == "h2" else None) for kind, content in section] == [
        ("h2", "Clips per class (emotion)"),
        ("table", None),
        ("h2", "Test split: every model against the yardsticks"),
        ("table", None),
        ("p", None),
        ("h2", "Test split: F1 per class"),
        ("table", None),
        ("p", None),
        ("h2", "Macro F1 per split"),
        ("table", None),
        ("p", None),
    ]
    assert cells(section[1]) == [["split", "neutral", "happy", "sad"], ["train", "0", "1", "1"], ["val", "0", "0", "0"], ["test", "0", "0", "1"]]
    assert cells(section[3])[0] == ["model", "clips", "accuracy", "balanced accuracy", "weighted F1", "macro F1"]
    assert cells(section[3])[1] == ["clip_cnn", "8", *(f"{class_metrics['clip_cnn']['splits']['test']['model'][k]:.4f}" for k in SCORES)]
    assert section[4][1] == (
        "Models are sorted by macro F1, the task's metric. Accuracy is the share of clips whose most probable class is the annotated "
        "one; balanced accuracy the mean recall over the classes the split holds; weighted F1 the classes' F1 averaged with their "
        "clip counts as weights, macro F1 their plain mean (a class with no clips and no predictions counts as 0). The majority "
        "class predicts the training split's most frequent class (neutral) for every clip; the class-prior guess draws each "
        "clip's class at random with the training split's class frequencies (scored in expectation, not by one draw); the Bayes "
        "classifier (synthetic data only) knows the generator's hidden values: the best any model can do. `summary.tsv` has "
        "every split and precision, recall and F1 per class."
    )
    knn_sad = class_metrics["knn"]["splits"]["test"]["model"]["per_class"]["sad"]["f1"]
    assert cells(section[6])[0] == ["model", "neutral (n=4)", "happy (n=2)", "sad (n=2)"] and cells(section[6])[3][3] == f"{knn_sad:.3f}"
    assert section[7][1] == (
        "A class scored 0 is one the model never gets right; the confusion matrices (below, and in `models/<model>/metrics.json`) show what it is taken for."
    )
    expected = [[name, *(f"{class_metrics[name]['splits'][s]['model']['macro_f1']:.4f}" for s in SPLITS)] for name in class_metrics]
    assert cells(section[9]) == [["model", *SPLITS], *expected]
    assert section[10] == ("p", "A model far better on train than on val and test has overfitted.")


def test_without_figures_drops_only_the_headings_left_without_a_block():
    page = [("h2", "A"), ("image", ("a.png", "a")), ("h2", "B"), ("p", "b"), ("h2", "C"), ("table", "t"), ("h2", "D")]
    assert without_figures(page) == [("h2", "B"), ("p", "b"), ("h2", "C"), ("table", "t")]
    assert without_figures([("h2", "E"), ("p", "e")]) == [("h2", "E"), ("p", "e")]


FUSION = pd.DataFrame(
    {
        "multimodal": ["fusion", "fusion"],
        "multimodal_modalities": ["audio+video"] * 2,
        "single": ["knn", "vggish_head"],
        "single_modality": ["audio"] * 2,
        "clips": [8, 8],
        "difference": [0.05, -0.01],
        "low": [0.01, -0.04],
        "high": [0.09, 0.02],
        "better": [True, False],
    }
)


def test_the_regression_page_block_by_block(metrics):
    """Every block of a regression page, in order: each heading and sentence as the reader gets it, each
    table's columns, and the clips, per-split and fusion tables cell by cell (values from the metrics)."""
    page = blocks(**page_inputs(metrics, localisations={"summary_cam_cnn": LOCALISATION}), fusion=FUSION)
    shown = [(kind, list(content.columns) if kind == "table" else content) for kind, content in page]
    assert shown == [
        ("h1", "impressions: run summary for `demo`"),
        (
            "warning",
            "**WARNING: VGGish ran WITHOUT pretrained weights.** UNTRAINED VGGish (seed 0). Embeddings (used by knn and "
            "vggish_head) are random projections of the log-mel spectrogram, not AudioSet features; set `vggish.source: hub` "
            "with a TF Hub handle or a local SavedModel directory, or `checkpoint` with the official checkpoint, for real "
            "VGGish embeddings.",
        ),
        ("h2", "Clips"),
        ("table", ["split", "used", "excluded"]),
        ("p", "Excluded files, labels and clips (full list in `excluded.tsv`; a feature stage leaves a clip out of the models reading it only):"),
        ("list", ["`d` (train, probe): no audio <stream>", "`c` (test, frames): no video stream"]),
        ("h2", "Test split: every model against the yardsticks"),
        ("table", ["model", "clips", *TRAITS, "mean", "R²", "MAE", "sd ratio"]),
        (
            "p",
            "1-MAE is 1 minus the mean absolute error of the trait scores in [0, 1] (higher is better); R² and MAE are means "
            "over the five traits; sd ratio is the spread of the predictions over the spread of the labels (below 1: "
            "predictions regress to the mean). The baseline predicts the training split's mean for every clip; the ceiling "
            "(synthetic data only) is the best any model can reach given the label noise. `summary.tsv` has every split and "
            "R² per trait.",
        ),
        ("h2", "Mean 1-MAE per split"),
        ("table", ["model", *SPLITS]),
        ("p", "A model far better on train than on val and test has overfitted."),
        ("h2", "Test split: fusion against each single modality"),
        ("table", ["single-modality model", "fusion (audio+video)"]),
        (
            "p",
            "Each cell is the fusion model's mean 1-MAE minus the single-modality model's, on the test clips both predicted, "
            "with its paired bootstrap interval (both scored on the same resamples, as above); * marks an interval wholly "
            "above 0. fusion does not beat every single-modality model (not vggish_head); its smallest margin is -0.0100 "
            "[-0.0400, +0.0200], over vggish_head.",
        ),
        ("h2", "Class activation maps: where the traits were heard"),
        (
            "p",
            "The generator hid neuroticism's cue as noise in 1800-2600 Hz during seconds 1-4 (its other cue, pitch, runs "
            "through the whole clip). Mass is the share of the trait's mean normalised map (over its top clips) that falls in "
            "the band (frequency only), in the box (band during those seconds) or in those seconds; share is the same "
            "region's share of the input. Mass above share, and above the other traits' mass: the model looks where the cue "
            "is. The raw-wave model hears 4 kHz audio (up to 2 kHz), so most of the band is above what it can hear; only its "
            "time profile is measured.",
        ),
        ("table", list(cam_table({"summary_cam_cnn": LOCALISATION}).reset_index().columns)),
        ("image", ("cam/summary_cam_cnn/profiles.png", "summary_cam_cnn: mean map per trait over bands and time")),
        ("image", ("cam/summary_cam_cnn/galleries/neuroticism.png", "summary_cam_cnn: top clips for neuroticism")),
        ("p", "Galleries of every trait are in `cam/<model>/galleries/<trait>.png`, the maps in `cam/<model>/cams.h5`."),
        ("h2", "Data"),
        ("image", ("plots/trait_distributions.png", "trait distributions per split")),
        ("image", ("plots/sample_clips.png", "sample clips")),
        ("h2", "Training curves"),
        ("image", ("plots/vggish_head/training_curves.png", "vggish_head: loss and 1-MAE per epoch")),
        ("image", ("plots/fusion/training_curves.png", "fusion: loss and 1-MAE per epoch")),
        ("h2", "Predicted against true score (test split)"),
        *(("image", (f"plots/{m}/predicted_vs_true.png", f"{m}: predicted vs true")) for m in ("knn", "vggish_head", "fusion")),
    ]
    tables = [content for kind, content in page if kind == "table"]
    assert tables[0].values.tolist() == [["train", "1", "1"], ["val", "1", "0"], ["test", "1", "0"]]
    means = [[m, *(f"{metrics[m]['splits'][s]['model']['mean']['one_minus_mae']:.4f}" for s in SPLITS)] for m in metrics]
    assert tables[2].values.tolist() == means
    assert tables[3].values.tolist() == [["knn (audio)", "+0.0500 [+0.0100, +0.0900] *"], ["vggish_head (audio)", "-0.0100 [-0.0400, +0.0200]"]]


def test_a_pretrained_embedder_is_named_and_no_vggish_model_is_said_so(metrics):
    pretrained = blocks(**page_inputs(metrics, pretrained=True))
    assert pretrained[1] == ("p", "VGGish: TF Hub model x")
    no_vggish = blocks(**page_inputs({"fusion": metrics["fusion"]}))
    assert "Embeddings (used by no model of this run) are random projections" in no_vggish[1][1]
    assert blocks(**page_inputs(metrics, pretrained=False) | {"embedder": {}})[1][1].startswith("**WARNING: VGGish ran WITHOUT pretrained weights.** . ")


def test_markdown_of_every_kind_of_block():
    table = pd.DataFrame({"a": ["1", "2"], "b": ["x", "y"]})
    page = [("h1", "T"), ("warning", "w"), ("h2", "S"), ("p", "text"), ("list", ["one", "two"]), ("table", table), ("image", ("x.png", "cap"))]
    assert to_markdown(page) == "# T\n\n> w\n\n## S\n\ntext\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | x |\n| 2 | y |\n\n![cap](x.png)\n"


def test_html_of_every_kind_of_block(tmp_path):
    (tmp_path / "x.png").write_bytes(PNG)
    table = pd.DataFrame({"a": ["1"], "b": ["<y>"]})
    page = [("h2", "Before"), ("h1", "T **b**"), ("warning", "w"), ("h2", "S"), ("p", "a `c`"), ("list", ["one", "two"]), ("table", table)]
    page.append(("image", ("x.png", "cap")))
    text = to_html(page, tmp_path)
    assert text.startswith("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>T <strong>b</strong></title><style>")
    body = text[text.index("</head><body>") + len("</head><body>") :]
    image = base64.b64encode(PNG).decode("ascii")
    assert body == (
        "\n<h2 id='s0'>Before</h2>\n<h1>T <strong>b</strong></h1>\n"
        "<nav>Contents: <a href='#s0'>Before</a> · <a href='#s1'>S</a></nav>\n"
        "<blockquote>w</blockquote>\n<h2 id='s1'>S</h2>\n<p>a <code>c</code></p>\n<ul><li>one</li><li>two</li></ul>\n"
        f"{table.to_html(index=False, border=0)}\n"
        f"<figure><img src='data:image/png;base64,{image}' alt='cap'><figcaption>cap (<code>x.png</code>)</figcaption></figure>\n"
        "</body></html>\n"
    )
    assert "<td>&lt;y&gt;</td>" in body and 'border="0"' not in body.split("<table")[0]


def test_cam_table_columns_index_and_the_cells_a_model_does_not_have():
    partial = {"hidden_band": LOCALISATION["hidden_band"], "traits": {t: {"time_mass": 0.6, "time_share": 0.23, "peak_time_s": 2.456} for t in TRAITS}}
    table = cam_table({"rawwav_cam_cnn": partial})
    assert table.index.name == "model" and list(table.index) == ["rawwav_cam_cnn"]
    assert list(table.columns) == [
        "trait",
        "band: mass (other traits) / share",
        "box: mass (other traits) / share",
        "time: mass (other traits) / share",
        "peak band (Hz)",
        "peak band during the cue (Hz)",
        "peak time (s)",
    ]
    assert list(table.iloc[0]) == ["neuroticism", "-", "-", "0.600 (0.600) / 0.230", "-", "-", "2.46"]
    both = cam_table({"a": {"hidden_band": None, "traits": {}}, "summary_cam_cnn": LOCALISATION, "rawwav_cam_cnn": partial})
    assert list(both.index) == ["summary_cam_cnn", "rawwav_cam_cnn"] and both.loc["summary_cam_cnn", "peak band (Hz)"] == "2200"


def test_the_gallery_shown_is_the_hidden_traits_else_the_best_predicted_output(metrics, class_metrics):
    from impressions.report.summary import _shown_trait

    no_band = {"hidden_band": None}
    r2 = {t: metrics["fusion"]["splits"]["test"]["model"][t]["r2"] for t in TRAITS}
    assert _shown_trait(no_band, metrics["fusion"]) == max(r2, key=r2.get)
    assert _shown_trait(LOCALISATION, metrics["fusion"]) == "neuroticism"
    assert _shown_trait(no_band, None) == TRAITS[0] and _shown_trait(no_band, None, EMOTION) == "neutral"
    f1 = {c: class_metrics["knn"]["splits"]["test"]["model"]["per_class"][c]["f1"] for c in EMOTION.classes}
    assert _shown_trait(no_band, class_metrics["knn"], EMOTION) == max(f1, key=f1.get)


def test_how_sure_a_classification_is_against_the_majority_class():
    from impressions.report.summary import certainty

    eye = np.eye(3)
    resampling = {"resamples": 200, "level": 0.9, "seed": 1}
    metrics = {}
    for name in ("good", "flat"):  # every clip right; every clip the majority class (neutral)
        predictions = {}
        for split in SPLITS:
            ids = [f"{split}{i}" for i in range(16)]
            truth = TRUTH * 2
            guess = truth if name == "good" else ["neutral"] * 16
            predictions[split] = prediction_table(ids, eye[EMOTION.class_index(truth)], eye[EMOTION.class_index(guess)], EMOTION)
        metrics[name] = evaluate(predictions, task=EMOTION, resampling=resampling)
    table = certainty(metrics)
    assert table.index.name == "model" and list(table.index) == ["good", "flat"]
    assert table.loc["flat", "against the baseline"] == "+0.0000 [+0.0000, +0.0000]" and table.loc["flat", "better"] == "no"
    assert list(table.columns) == ["clips", "macro F1 [90% interval]", "against the baseline", "better"]
    test = metrics["good"]["splits"]["test"]
    difference = test["model"]["macro_f1"] - test["majority"]["macro_f1"]
    assert table.loc["good", "against the baseline"].startswith(f"{difference:+.4f} [") and table.loc["good", "better"] == "yes"
    page = to_markdown(blocks(**class_page_inputs(metrics)))
    assert "## Test split: how sure (90% bootstrap intervals)" in page
    assert "Better than the majority class: good. Intervals" in page
    assert (
        "Intervals are percentile bootstraps over the split's clips (200 resamples, seed 1); the difference to the majority class is "
        "paired: both are scored on the same resamples, and a model is better only when the whole interval of the difference is above "
        "0. On a few dozen clips, models whose intervals overlap are not told apart." in page
    )
    assert "No model is better than the majority class. Intervals" in to_markdown(blocks(**class_page_inputs({"flat": metrics["flat"]})))


def attention_result(planted: dict[str, tuple[int, int]], n_clips: int = 3) -> dict:
    """An attention.json with, per output, (clips with a planted moment, of which peak within 0.5 s)."""
    outputs = {}
    for output, (with_moment, within) in planted.items():
        clips = [{"planted_s": 1.0 if i < with_moment else None, "within": i < within} for i in range(n_clips)]
        outputs[output] = {"clips": clips, "planted": with_moment, "within": within, "share": within / with_moment if with_moment else None}
    total, inside = sum(p for p, _ in planted.values()), sum(w for _, w in planted.values())
    return {"tolerance_s": 0.5, "outputs": outputs, "planted": total, "within": inside, "share": inside / total if total else None}


def test_attention_table_lists_the_outputs_with_planted_moments_and_each_models_total():
    table = attention_table(
        {"a": attention_result({"joy": (0, 0), "surprise": (2, 1), "fear": (1, 1)}), "b": attention_result({"joy": (0, 0), "surprise": (0, 0), "fear": (0, 0)})}
    )
    assert table.index.name == "model" and list(table.index) == ["a", "a", "a"]  # b has no planted moment: no row
    assert list(table["output"]) == ["surprise", "fear", "all"]
    assert list(table["top clips"]) == [3, 3, 9] and list(table["with a planted moment"]) == [2, 1, 3]
    assert list(table["peak within tolerance"]) == [1, 1, 2] and table["share"].tolist() == pytest.approx([0.5, 1.0, 2 / 3])
    assert attention_table({"b": attention_result({"joy": (0, 0)})}).empty


def test_the_gallery_shown_is_the_output_with_most_planted_top_clips_over_all_models():
    first = attention_result({"joy": (0, 0), "fear": (4, 0), "surprise": (3, 1)})
    second = attention_result({"joy": (0, 0), "fear": (1, 1), "surprise": (9, 9)})
    assert shown_output({"a": first, "b": second}) == "surprise"  # 12 against 5
    assert shown_output({"a": first}) == "fear"
    assert shown_output({"a": attention_result({"joy": (0, 0), "fear": (0, 0)})}) == "joy"  # none planted: the first output


def test_the_page_shows_the_attention_section_after_the_cams_with_one_gallery_per_model(metrics):
    attentions = {"seq": attention_result({"joy": (0, 0), "surprise": (2, 2)})}
    galleries = {"seq": {"joy": "attention/seq/galleries/joy.png", "surprise": "attention/seq/galleries/surprise.png"}}
    inputs = page_inputs(metrics, localisations={"summary_cam_cnn": LOCALISATION})
    page = blocks(**{**inputs, "attentions": attentions, "figures": {**inputs["figures"], "attention_galleries": galleries}})
    assert page.index(("h2", "Attention over time: when the sequence models looked")) > page.index(("h2", "Class activation maps: where the traits were heard"))
    start = page.index(("h2", "Attention over time: when the sequence models looked"))
    kinds = [kind for kind, _ in page[start : start + 5]]
    assert kinds == ["h2", "p", "table", "image", "p"]
    assert "within 0.5 s" in page[start + 1][1] and list(page[start + 2][1]["model"]) == ["seq", "seq"]
    assert page[start + 3][1] == ("attention/seq/galleries/surprise.png", "seq: attention over time of the top clips for surprise")
    without = blocks(**inputs)
    assert not any(kind == "h2" and text.startswith("Attention") for kind, text in without)
