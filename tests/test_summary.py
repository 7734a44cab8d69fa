"""The run summary: comparison tables, the CAM table, and the page in markdown and HTML."""

import base64

import numpy as np
import pandas as pd
import pytest

from impressions import SPLITS, TRAITS
from impressions.models.metrics import evaluate, prediction_table
from impressions.report.summary import blocks, cam_table, comparison, summary_table, to_html, to_markdown

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
        "cam_galleries": {m: {t: f"cam/{m}/gallery_{t}.png" for t in TRAITS} for m in localisations},
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
    assert "(cam/summary_cam_cnn/gallery_neuroticism.png)" in text and "(cam/summary_cam_cnn/profiles.png)" in text


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


def test_page_without_figures_keeps_text_and_tables(metrics):
    from impressions.report.summary import without_figures

    page = blocks(**page_inputs(metrics, localisations={"summary_cam_cnn": LOCALISATION}))
    kept = without_figures(page)
    assert "<img" not in to_html(kept, "/nonexistent") and [b for b in kept if b[0] != "h2"] == [b for b in page if b[0] not in ("image", "h2")]
    headings = [content for kind, content in kept if kind == "h2"]
    assert "Class activation maps: where the traits were heard" in headings and "Data" not in headings and "Training curves" not in headings
