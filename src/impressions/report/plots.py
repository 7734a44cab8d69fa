"""The report's figures: label distributions, sample clips, training curves and predictions.

Every figure is 9 inches wide at 100 dpi (900 px, the width of the HTML report), uses
constrained layout and fonts of at least 9 pt, and is written with `save`, which closes it.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # before pyplot: figures are only ever written to files

import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator

from impressions import SPLITS, TRAITS
from impressions.io.atomic import atomic_path
from impressions.models.metrics import pred_column, score, true_column

DPI = 100
WIDTH = 9.0
"""Figure width in inches: 900 px at `DPI`."""

BINS = np.linspace(0.0, 1.0, 21)
"""Histogram bin edges of the label scores: the same for every split, so bars line up."""

SPLIT_COLORS = {split: f"C{i}" for i, split in enumerate(SPLITS)}

_HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "one_minus_mae", "val_one_minus_mae")


def save(fig: Figure, path: str | os.PathLike) -> None:
    """Write `fig` as a PNG atomically, then close it.

    The PNG carries no "Software" entry, so its bytes do not change with the matplotlib version.
    The figure is closed even when writing fails, and `path` is then left as it was.
    """
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)


def trait_distributions(manifest: pd.DataFrame) -> Figure:
    """Density histograms of each trait's annotation, one step line per split.

    Shows whether the splits share one label distribution. One panel per trait; the sixth
    panel holds the legend with each split's clip count.

    Parameters
    ----------
    manifest : one row per clip, with ``split`` and one column per trait in TRAITS (scores in [0, 1])
    """
    unknown = sorted(set(manifest["split"]) - set(SPLITS))
    if unknown:
        raise ValueError(f"unknown split(s) {unknown} in the manifest; the splits are {list(SPLITS)}")
    if manifest.empty:
        raise ValueError("the manifest has no clips to plot")
    fig, axes = plt.subplots(2, 3, figsize=(WIDTH, 5.6), dpi=DPI, layout="constrained")
    panels = axes.ravel()
    for ax, trait in zip(panels, TRAITS):
        for split in SPLITS:
            rows = manifest[manifest["split"] == split]
            if rows.empty:
                continue
            ax.hist(
                rows[trait],
                bins=BINS,
                density=True,
                histtype="step",
                linewidth=1.5,
                color=SPLIT_COLORS[split],
                label=f"{split} (n={len(rows)})",
            )
        ax.set_xlim(0.0, 1.0)
        ax.set_title(trait)
        ax.set_xlabel("score (0-1)")
        ax.set_ylabel("density")
    legend_ax = panels[len(TRAITS)]
    legend_ax.axis("off")
    legend_ax.legend(*panels[0].get_legend_handles_labels(), loc="center", title="split (clips)")
    fig.suptitle(f"Trait annotations per split ({_count(len(manifest), 'clip')}, {len(BINS) - 1} bins)")
    return fig


def sample_clips(samples: list[dict]) -> Figure:
    """A few clips as the models see them: frames, MFCCs and annotated traits, one row each.

    Each row is a subfigure: the frames side by side across the top, the MFCC image (time on
    the x axis) and the trait scores below.

    Parameters
    ----------
    samples : one dict per clip with ``clip_id``, ``split``, ``frames`` (np.ndarray
        [shape=(T, H, W, 3), dtype=uint8]), ``mfcc`` (np.ndarray [shape=(frames, n_mfcc)],
        time-major as cached), ``sample_rate``, ``hop_length`` and ``labels`` (trait -> score)
    """
    if not samples:
        raise ValueError("no sample clips to plot")
    fig = plt.figure(figsize=(WIDTH, 3.4 * len(samples)), dpi=DPI, layout="constrained")
    rows = fig.subfigures(len(samples), 1, squeeze=False)[:, 0]
    for row, sample in zip(rows, samples):
        _sample_row(row, sample)
    fig.suptitle("Sample clips: frames, MFCCs and annotations")
    return fig


def _sample_row(row: SubFigure, sample: dict) -> None:
    frames, mfcc = sample["frames"], sample["mfcc"]
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"{sample['clip_id']}: frames must be (T, H, W, 3), got shape {frames.shape}")
    if mfcc.ndim != 2:
        raise ValueError(f"{sample['clip_id']}: mfcc must be (frames, n_mfcc), got shape {mfcc.shape}")
    axes = row.subplot_mosaic([["frames", "frames"], ["mfcc", "traits"]], height_ratios=[1, 2], width_ratios=[1.8, 1])

    axes["frames"].imshow(np.hstack(frames))
    axes["frames"].axis("off")
    axes["frames"].set_title(f"{sample['clip_id']} ({sample['split']}): {len(frames)} frames")

    mesh = librosa.display.specshow(
        standardise_rows(mfcc.T),
        x_axis="time",
        sr=sample["sample_rate"],
        hop_length=sample["hop_length"],
        ax=axes["mfcc"],
        cmap="coolwarm",
        vmin=-3,
        vmax=3,
    )
    axes["mfcc"].yaxis.set_major_locator(MaxNLocator(integer=True))  # specshow leaves no y ticks
    axes["mfcc"].set_xlabel("time (s)")
    axes["mfcc"].set_ylabel("MFCC coefficient")
    axes["mfcc"].set_title(f"MFCC ({mfcc.shape[1]} coefficients)")
    row.colorbar(mesh, ax=axes["mfcc"], label="z-score per coefficient")

    axes["traits"].barh(TRAITS, [sample["labels"][t] for t in TRAITS], color="C0")
    axes["traits"].invert_yaxis()  # first trait on top
    axes["traits"].set_xlim(0.0, 1.0)
    axes["traits"].set_xlabel("annotated score (0-1)")
    axes["traits"].set_ylabel("trait")
    axes["traits"].set_title("annotations")


def standardise_rows(values: np.ndarray) -> np.ndarray:
    """Each row (an MFCC coefficient over time) to zero mean and unit sd, so one colour scale
    shows every coefficient (raw c0 is hundreds of dB below the others and would flatten them)."""
    return (values - values.mean(axis=1, keepdims=True)) / (values.std(axis=1, keepdims=True) + 1e-8)


def training_curves(history: pd.DataFrame, model: str, loss: str = "loss") -> Figure:
    """Loss and 1-MAE per epoch, training and validation, with the best epoch marked.

    The best epoch is the one with the highest validation 1-MAE, the one checkpointing keeps.
    Points carry markers so that a single epoch still shows.

    Parameters
    ----------
    history : a Keras history CSV, with ``epoch`` (1-based), ``loss``, ``val_loss``,
        ``one_minus_mae`` and ``val_one_minus_mae``; other columns are ignored
    model : the model's name, for the title
    loss : what the loss is (its y label), e.g. "MSE on standardised targets"
    """
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"the training history of {model} lacks column(s) {missing}; it needs {list(_HISTORY_COLUMNS)}")
    if history.empty:
        raise ValueError(f"the training history of {model} has no epochs")
    best_epoch = int(history.loc[history["val_one_minus_mae"].idxmax(), "epoch"])
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), dpi=DPI, layout="constrained")
    for ax, metric, label in zip(axes, ("loss", "one_minus_mae"), (loss, "1-MAE")):
        ax.plot(history["epoch"], history[metric], marker="o", markersize=4, color="C0", label="train")
        ax.plot(history["epoch"], history[f"val_{metric}"], marker="s", markersize=4, color="C1", label="validation")
        ax.axvline(best_epoch, linestyle="--", color="0.4", label=f"best epoch {best_epoch}")
        ax.set_xlim(history["epoch"].min() - 0.5, history["epoch"].max() + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label} per epoch")
        ax.legend()
    fig.suptitle(f"Training curves: {model} ({_count(len(history), 'epoch')})")
    return fig


def predicted_vs_true(predictions: pd.DataFrame, model: str, split: str = "test") -> Figure:
    """Predicted against annotated score per trait, with the identity line and the metrics.

    Panel titles carry each trait's 1-MAE and R^2, computed by `impressions.models.metrics.score` so
    they match the metrics table; R^2 reads "n/a" below two clips.

    Parameters
    ----------
    predictions : a predictions table (`impressions.models.metrics.prediction_table`)
    model : the model's name, for the title
    split : the split the predictions are of, for the title
    """
    if predictions.empty:
        raise ValueError(f"no {split} predictions of {model} to plot")
    fig, axes = plt.subplots(2, 3, figsize=(WIDTH, 6.4), dpi=DPI, layout="constrained")
    panels = axes.ravel()
    for ax, trait in zip(panels, TRAITS):
        y_true = predictions[true_column(trait)].to_numpy()
        y_pred = predictions[pred_column(trait)].to_numpy()
        metrics = score(y_true, y_pred)
        r2 = "n/a" if np.isnan(metrics["r2"]) else f"{metrics['r2']:.3f}"
        ax.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="0.4", linewidth=1)
        ax.scatter(y_true, y_pred, s=12, alpha=0.6, color="C0", clip_on=False)  # scores of 0 or 1 in full
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_aspect("equal")
        ax.set_xlabel("true score")
        ax.set_ylabel("predicted score")
        ax.set_title(f"{trait}\n1-MAE {metrics['one_minus_mae']:.3f}, R² {r2}")
    for ax in panels[len(TRAITS) :]:
        ax.remove()
    fig.suptitle(f"{model} on the {split} split ({_count(len(predictions), 'clip')}): predicted vs true score")
    return fig


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def pick_samples(manifest: pd.DataFrame, n: int = 3) -> list[str]:
    """`n` training clips that span the annotations: lowest, middle and highest mean trait score.

    Deterministic (ties by clip id), so the figure only changes when the data do.
    """
    train = manifest[manifest["split"] == "train"] if (manifest["split"] == "train").any() else manifest
    ranked = train.assign(mean=train[list(TRAITS)].mean(axis=1)).sort_values(["mean", "clip_id"], kind="stable")
    picks = np.unique(np.linspace(0, len(ranked) - 1, min(n, len(ranked))).round().astype(int))
    return list(ranked["clip_id"].iloc[picks])
