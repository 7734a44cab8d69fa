"""The report's figures: label distributions, sample clips, training curves and predictions
(regression: predicted against true scores; classification: confusion matrices and per-class F1).

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
from impressions.data.clips import SHEET_SPLITS
from impressions.io.atomic import atomic_path
from impressions.models.metrics import class_scores, pred_column, score, true_column
from impressions.models.task import FIRST_IMPRESSIONS, Task

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


def trait_distributions(manifest: pd.DataFrame, targets=TRAITS) -> Figure:
    """Density histograms of each target's annotation, one step line per split.

    Shows whether the splits share one label distribution. One panel per target; the panel
    after the last holds the legend with each split's clip count. Unlabelled clips (the
    ``predict`` split) are left out.

    Parameters
    ----------
    manifest : one row per clip, with ``split`` and one column per target (scores in [0, 1])
    targets : the label columns to draw
    """
    manifest = _labelled(manifest)
    targets = list(targets)
    n_rows = -(-(len(targets) + 1) // 3)
    fig, axes = plt.subplots(n_rows, 3, figsize=(WIDTH, 2.8 * n_rows), dpi=DPI, layout="constrained", squeeze=False)
    panels = axes.ravel()
    for ax, trait in zip(panels, targets):
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
    legend_ax = panels[len(targets)]
    legend_ax.axis("off")
    legend_ax.legend(*panels[0].get_legend_handles_labels(), loc="center", title="split (clips)")
    for ax in panels[len(targets) + 1 :]:
        ax.remove()
    fig.suptitle(f"Trait annotations per split ({_count(len(manifest), 'clip')}, {len(BINS) - 1} bins)")
    return fig


def _labelled(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest's labelled clips (the ``predict`` split left out); an unknown split or none left is an error."""
    unknown = sorted(set(manifest["split"]) - set(SHEET_SPLITS))
    if unknown:
        raise ValueError(f"unknown split(s) {unknown} in the manifest; the splits are {list(SPLITS)}")
    labelled = manifest[manifest["split"].isin(SPLITS)]
    if labelled.empty:
        raise ValueError("the manifest has no labelled clips to plot")
    return labelled


def class_distribution(manifest: pd.DataFrame, task: Task) -> Figure:
    """Clips per class and split: counts (left) and each class's share of its split (right).

    Shows how unbalanced the classes are and whether the splits share one class distribution.
    Unlabelled clips (the ``predict`` split) are left out and counted in the title.

    Parameters
    ----------
    manifest : one row per clip, with ``split`` and the task's target column (class names)
    task : a classification task; its classes give the bars' order
    """
    labelled = _labelled(manifest)
    unlabelled = int((manifest["split"] == "predict").sum())
    counts = labelled.groupby(["split", task.target]).size().unstack(fill_value=0).reindex(index=SPLITS, columns=list(task.classes), fill_value=0)
    splits = [s for s in SPLITS if counts.loc[s].sum() > 0]
    shares = counts.loc[splits].div(counts.loc[splits].sum(axis=1), axis=0)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.0), dpi=DPI, layout="constrained")
    x = np.arange(len(task.classes))
    width = 0.8 / len(splits)
    for i, split in enumerate(splits):
        offset = (i - (len(splits) - 1) / 2) * width
        label = f"{split} (n={int(counts.loc[split].sum())})"
        axes[0].bar(x + offset, counts.loc[split], width, color=SPLIT_COLORS[split], label=label)
        axes[1].bar(x + offset, shares.loc[split], width, color=SPLIT_COLORS[split], label=label)
    for ax, ylabel, title in zip(axes, ("clips", "share of the split's clips"), ("clips per class", "share of each split")):
        ax.set_xticks(x, task.classes, rotation=30 if len(task.classes) > 4 else 0, ha="right" if len(task.classes) > 4 else "center")
        ax.set_xlabel(task.target)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_ylim(0.0, 1.0)
    axes[1].legend(title="split (clips)")
    extra = f", {_count(unlabelled, 'unlabelled clip')} left out" if unlabelled else ""
    fig.suptitle(f"Classes of {task.target} per split ({_count(len(labelled), 'clip')}{extra})")
    return fig


def sample_clips(samples: list[dict]) -> Figure:
    """A few clips as the models see them: frames, MFCCs and annotations, one row each.

    Each row is a subfigure: the frames side by side across the top (where the clip has
    video), the MFCC image (time on the x axis) and the annotations below.

    Parameters
    ----------
    samples : one dict per clip with ``clip_id``, ``split``, ``frames`` (np.ndarray
        [shape=(T, H, W, 3), dtype=uint8], or None without video), ``mfcc`` (np.ndarray
        [shape=(frames, n_mfcc)], time-major as cached), ``sample_rate``, ``hop_length`` and
        ``labels``: target -> score (regression), or {target: class} with ``classes`` the task's
        classes (classification)
    """
    if not samples:
        raise ValueError("no sample clips to plot")
    with_frames = any(sample.get("frames") is not None for sample in samples)
    fig = plt.figure(figsize=(WIDTH, (3.4 if with_frames else 2.6) * len(samples)), dpi=DPI, layout="constrained")
    rows = fig.subfigures(len(samples), 1, squeeze=False)[:, 0]
    for row, sample in zip(rows, samples):
        _sample_row(row, sample)
    fig.suptitle("Sample clips: frames, MFCCs and annotations" if with_frames else "Sample clips: MFCCs and annotations")
    return fig


def _sample_row(row: SubFigure, sample: dict) -> None:
    frames, mfcc = sample.get("frames"), sample["mfcc"]
    if frames is not None and (frames.ndim != 4 or frames.shape[-1] != 3):
        raise ValueError(f"{sample['clip_id']}: frames must be (T, H, W, 3), got shape {frames.shape}")
    if mfcc.ndim != 2:
        raise ValueError(f"{sample['clip_id']}: mfcc must be (frames, n_mfcc), got shape {mfcc.shape}")
    classes = sample.get("classes")
    labels = "classes" if classes else "traits"
    name = f"{sample['clip_id']} ({sample['split']})"
    if frames is not None:
        axes = row.subplot_mosaic([["frames", "frames"], ["mfcc", labels]], height_ratios=[1, 2], width_ratios=[1.8, 1])
        axes["frames"].imshow(np.hstack(frames))
        axes["frames"].axis("off")
        axes["frames"].set_title(f"{name}: {len(frames)} frames")
    else:
        axes = row.subplot_mosaic([["mfcc", labels]], width_ratios=[1.8, 1])

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
    axes["mfcc"].set_title(f"MFCC ({mfcc.shape[1]} coefficients)" if frames is not None else f"{name}: MFCC ({mfcc.shape[1]} coefficients)")
    row.colorbar(mesh, ax=axes["mfcc"], label="z-score per coefficient")

    if classes:
        ((target, label),) = sample["labels"].items()
        axes["classes"].barh(classes, [float(c == label) for c in classes], color=["C1" if c == label else "C0" for c in classes])
        axes["classes"].invert_yaxis()  # first class on top
        axes["classes"].set_xlim(0.0, 1.0)
        axes["classes"].set_xticks([0.0, 1.0])
        axes["classes"].set_xlabel("annotated (1: the clip's class)")
        axes["classes"].set_ylabel(target)
        axes["classes"].set_title(f"annotation: {label}")
        return
    targets = list(sample["labels"])
    axes["traits"].barh(targets, [sample["labels"][t] for t in targets], color="C0")
    axes["traits"].invert_yaxis()  # first trait on top
    axes["traits"].set_xlim(0.0, 1.0)
    axes["traits"].set_xlabel("annotated score (0-1)")
    axes["traits"].set_ylabel("trait")
    axes["traits"].set_title("annotations")


def standardise_rows(values: np.ndarray) -> np.ndarray:
    """Each row (an MFCC coefficient over time) to zero mean and unit sd, so one colour scale
    shows every coefficient (raw c0 is hundreds of dB below the others and would flatten them)."""
    return (values - values.mean(axis=1, keepdims=True)) / (values.std(axis=1, keepdims=True) + 1e-8)


def training_curves(history: pd.DataFrame, model: str, loss: str = "loss", task: Task = FIRST_IMPRESSIONS) -> Figure:
    """Loss and the task's metric per epoch, training and validation, with the best epoch marked.

    Regression: 1-MAE, the best epoch the one with the highest validation 1-MAE. Classification:
    the accuracy of the training instances (patches, windows) on both splits, and the validation
    clips' score by the task's metric (``val_<metric>``), whose best epoch is the one kept. The
    best epoch is the one checkpointing keeps. Points carry markers so that a single epoch still
    shows.

    Parameters
    ----------
    history : a Keras history CSV, with ``epoch`` (1-based), ``loss``, ``val_loss`` and
        regression: ``one_minus_mae`` and ``val_one_minus_mae``; classification: ``accuracy``,
        ``val_accuracy`` and ``val_<task.metric>``; other columns are ignored
    model : the model's name, for the title
    loss : what the loss is (its y label), e.g. "MSE on standardised targets"
    task : what the model learnt
    """
    metric, label = ("accuracy", "accuracy") if task.classification else ("one_minus_mae", "1-MAE")
    selected = f"val_{task.metric}"
    needed = ["epoch", "loss", "val_loss", metric, f"val_{metric}", *([selected] if selected != f"val_{metric}" else [])]
    missing = [c for c in needed if c not in history.columns]
    if missing:
        raise ValueError(f"the training history of {model} lacks column(s) {missing}; it needs {needed}")
    if history.empty:
        raise ValueError(f"the training history of {model} has no epochs")
    best_epoch = int(history.loc[history[selected].idxmax(), "epoch"])
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), dpi=DPI, layout="constrained")
    for ax, column, ylabel in zip(axes, ("loss", metric), (loss, label)):
        ax.plot(history["epoch"], history[column], marker="o", markersize=4, color="C0", label="train")
        ax.plot(history["epoch"], history[f"val_{column}"], marker="s", markersize=4, color="C1", label="validation")
        if column == metric and selected != f"val_{metric}":
            ax.plot(history["epoch"], history[selected], marker="^", markersize=4, color="C2", label=f"validation clips: {task.metric}")
        ax.axvline(best_epoch, linestyle="--", color="0.4", label=f"best epoch {best_epoch}")
        ax.set_xlim(history["epoch"].min() - 0.5, history["epoch"].max() + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel if column == "loss" or selected == f"val_{metric}" else f"{label}, {task.metric}")
        ax.set_title(f"{ylabel} per epoch")
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


def confusion_matrices(predictions: pd.DataFrame, task: Task, model: str, split: str = "test") -> Figure:
    """The confusion matrix of one model's classes on one split: counts (left) and each row
    divided by its true class's clips (right, the recall on the diagonal).

    Computed by `impressions.models.metrics.class_scores`, so the cells match metrics.json.

    Parameters
    ----------
    predictions : a classification predictions table (`impressions.models.metrics.prediction_table`)
    task : the task the model learnt (its classes, in the matrices' order)
    model : the model's name, for the title
    split : the split the predictions are of, for the title
    """
    if predictions.empty:
        raise ValueError(f"no {split} predictions of {model} to plot")
    scores = class_scores(predictions[true_column(task.target)], predictions[pred_column(task.target)], task.classes)
    matrices = {"counts": np.array(scores["confusion"]["counts"]), "normalized": np.array(scores["confusion"]["normalized"])}
    n = len(task.classes)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 5.0), dpi=DPI, layout="constrained")  # two square matrices side by side
    titles = {"counts": "clips", "normalized": "share of the true class (rows sum to 1)"}
    for ax, (kind, matrix) in zip(axes, matrices.items()):
        top = matrix.max() if matrix.max() > 0 else 1.0
        ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=top if kind == "counts" else 1.0)
        for (i, j), value in np.ndenumerate(matrix):
            text = f"{int(value)}" if kind == "counts" else f"{value:.2f}"
            dark = value > 0.6 * (top if kind == "counts" else 1.0)
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
        ax.set_xticks(np.arange(n), task.classes, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
        ax.set_yticks(np.arange(n), task.classes)
        ax.set_xlabel(f"predicted {task.target}")
        ax.set_ylabel(f"true {task.target}")
        ax.set_title(titles[kind])
    fig.suptitle(
        f"{model} on the {split} split ({_count(len(predictions), 'clip')}): accuracy {scores['accuracy']:.3f}, "
        f"balanced accuracy {scores['balanced_accuracy']:.3f}, weighted F1 {scores['weighted_f1']:.3f}"
    )
    return fig


def class_f1(metrics: dict[str, dict], split: str = "test") -> Figure:
    """Per-class F1 of every model on one split, side by side, against the yardsticks.

    One group of bars per class (its clips in the tick label), one bar per model; the class-prior
    guess (dashed gray) and, where known, the Bayes classifier (solid black) mark each class's
    F1 across its group. The yardsticks are those of the model scored on the most clips.

    Parameters
    ----------
    metrics : model name -> its metrics.json content (classification, see
        `impressions.models.metrics.evaluate_classification`)
    split : the split to draw
    """
    if not metrics:
        raise ValueError("no models' metrics to plot")
    first = next(iter(metrics.values()))
    classes = first["classes"]
    source = max(metrics.values(), key=lambda m: m["splits"][split]["n_clips"])["splits"][split]
    x = np.arange(len(classes))
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), dpi=DPI, layout="constrained")
    for i, (name, result) in enumerate(metrics.items()):
        offset = (i - (len(metrics) - 1) / 2) * width
        ax.bar(x + offset, [result["splits"][split]["model"]["per_class"][c]["f1"] for c in classes], width, color=f"C{i % 10}", label=name)
    yardsticks = {"prior": {"color": "0.5", "linestyle": "--", "label": "class-prior guess"}, "bayes": {"color": "black", "label": "Bayes classifier"}}
    for who, style in yardsticks.items():
        if who in source:
            f1 = [source[who]["per_class"][c]["f1"] for c in classes]
            ax.hlines(f1, x - 0.45, x + 0.45, linewidth=2, **style)
    support = [source["model"]["per_class"][c]["support"] for c in classes]
    ax.set_xticks(x, [f"{c}\n(n={n})" for c, n in zip(classes, support)])
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel(f"{first['target']} ({split} clips)")
    ax.set_ylabel("F1")
    ax.set_title(f"F1 per class on the {split} split")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] in ("class-prior guess", "Bayes classifier"))  # models first
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside right upper")
    fig.suptitle(f"Per-class F1 of {_count(len(metrics), 'model')} ({source['n_clips']} {split} clips)")
    return fig


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def pick_samples(manifest: pd.DataFrame, n: int = 3, task: Task = FIRST_IMPRESSIONS) -> list[str]:
    """`n` training clips that span the annotations, deterministic (ties by clip id), so the
    figure only changes when the data do.

    Regression: the lowest, middle and highest mean target score. Classification: one clip of
    each of the `n` most frequent training classes (ties in class order), the first by clip id.
    """
    train = manifest[manifest["split"] == "train"] if (manifest["split"] == "train").any() else manifest[manifest["split"].isin(SPLITS)]
    if task.classification:
        counts = train[task.target].value_counts()
        present = [c for c in task.classes if counts.get(c, 0) > 0]
        chosen = sorted(present, key=lambda c: (-counts[c], task.classes.index(c)))[:n]
        return [train.loc[train[task.target] == c, "clip_id"].sort_values().iloc[0] for c in chosen]
    ranked = train.assign(mean=train[list(task.targets)].mean(axis=1)).sort_values(["mean", "clip_id"], kind="stable")
    picks = np.unique(np.linspace(0, len(ranked) - 1, min(n, len(ranked))).round().astype(int))
    return list(ranked["clip_id"].iloc[picks])
