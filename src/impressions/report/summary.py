"""The run's summary: a comparison table of every model (summary.tsv) and one page, in markdown
(summary.md), as a self-contained HTML file with its figures embedded (summary.html), and as
HTML without figures for the Snakemake report (summary_tables.html), which holds the figures.

The page is built once as a list of blocks and written in both formats, so they cannot drift.
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from impressions import SPLITS, TRAITS
from impressions.models.metrics import headline
from impressions.models.registry import MODELS
from impressions.models.task import FIRST_IMPRESSIONS, Task
from impressions.report.fusion import fusion_table, verdicts

YARDSTICKS = {"baseline": "train-mean baseline", "ceiling": "noise ceiling (ground truth)"}
CLASS_YARDSTICKS = {"majority": "majority class (train)", "prior": "class-prior guess (train frequencies)", "bayes": "Bayes classifier (ground truth)"}
"""Classification's yardsticks in metrics.json, and their rows' names in the tables."""
CLASS_METRICS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "weighted_f1": "weighted F1", "macro_f1": "macro F1"}
"""Classification metrics of metrics.json, and their columns' names in the comparison."""

Block = tuple[str, object]
"""(kind, content): ``h1``/``h2``/``p``/``warning`` text, ``list`` of texts, ``table``
(DataFrame), ``image`` (path relative to the page, caption)."""


def _yardstick_source(metrics: dict[str, dict], split: str) -> dict | None:
    """The metrics whose baseline and ceiling rows the tables show: those of the model scored on
    the most clips of `split` (models that excluded clips are scored on fewer; see `fewer_clips`)."""
    return max(metrics.values(), key=lambda m: m["splits"][split]["n_clips"], default=None)


def fewer_clips(metrics: dict[str, dict], split: str = "test") -> dict[str, int]:
    """Models scored on fewer clips of `split` than the yardsticks, with their clip counts."""
    source = _yardstick_source(metrics, split)
    most = source["splits"][split]["n_clips"] if source else 0
    return {name: m["splits"][split]["n_clips"] for name, m in metrics.items() if m["splits"][split]["n_clips"] < most}


def task_of(metrics: dict[str, dict]) -> Task:
    """The task the models were scored on, from their metrics.json ("task"; without it: First Impressions)."""
    described = next((m["task"] for m in metrics.values() if "task" in m), None)
    return Task.from_params(described) if described else FIRST_IMPRESSIONS


def comparison(metrics: dict[str, dict], split: str = "test") -> pd.DataFrame:
    """One row per model, best first, then the yardsticks.

    Regression: best mean 1-MAE first, then the baseline and the ceiling. Columns: clips scored,
    1-MAE per trait and mean, R^2 (mean over traits), MAE (mean), and the spread of the predictions
    against the labels' (mean sd ratio: below 1 is regression to the mean). Classification: see
    `class_comparison`.
    """
    task = task_of(metrics)
    if task.classification:
        return class_comparison(metrics, split, task)
    rows = {}
    for name, result in metrics.items():
        rows[name] = {"clips": result["splits"][split]["n_clips"], **_row(result["splits"][split]["model"])}
    source = _yardstick_source(metrics, split)
    for who, label in YARDSTICKS.items():
        if source is not None and who in source["splits"][split]:
            rows[label] = {"clips": source["splits"][split]["n_clips"], **_row(source["splits"][split][who])}
    table = pd.DataFrame.from_dict(rows, orient="index")
    models = table.loc[list(metrics)].sort_values("mean", ascending=False, kind="stable")
    table = pd.concat([models, table.drop(index=list(metrics))])
    table.index.name = "model"
    return table


def _row(scores: dict) -> dict:
    row = {t: scores[t]["one_minus_mae"] for t in TRAITS}
    row |= {
        "mean": scores["mean"]["one_minus_mae"],
        "R²": scores["mean"]["r2"],
        "MAE": scores["mean"]["mae"],
        "sd ratio": float(np.mean([scores[t]["pred_std"] / scores[t]["label_std"] for t in TRAITS if scores[t]["label_std"] > 0])),
    }
    return row


def _entries(metrics: dict[str, dict], split: str, yardsticks: dict[str, str]) -> list[tuple[str, dict, int]]:
    """(row name, scores, clips) of every model, then of every yardstick the source has, on `split`."""
    source = _yardstick_source(metrics, split)
    entries = [(name, result["splits"][split]["model"], result["splits"][split]["n_clips"]) for name, result in metrics.items()]
    return entries + [
        (label, source["splits"][split][who], source["splits"][split]["n_clips"])
        for who, label in yardsticks.items()
        if source is not None and who in source["splits"][split]
    ]


def class_comparison(metrics: dict[str, dict], split: str = "test", task: Task | None = None) -> pd.DataFrame:
    """One row per model, best by the task's metric first, then the majority class, the
    class-prior guess and (synthetic data) the Bayes classifier.

    Columns: clips scored, accuracy, balanced accuracy, weighted F1 and macro F1.
    """
    task = task or task_of(metrics)
    rows = {
        name: {"clips": n_clips, **{label: scores[key] for key, label in CLASS_METRICS.items()}}
        for name, scores, n_clips in _entries(metrics, split, CLASS_YARDSTICKS)
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    models = table.loc[list(metrics)].sort_values(CLASS_METRICS[task.metric], ascending=False, kind="stable")
    table = pd.concat([models, table.drop(index=list(metrics))])
    table.index.name = "model"
    return table


def certainty(metrics: dict[str, dict], split: str = "test") -> pd.DataFrame:
    """How sure each model's score is, in the comparison's order: its headline metric with the
    bootstrap interval, its difference to the baseline (train mean; majority class) with the
    paired interval, and whether the model is better (the whole interval above 0). Empty when
    the metrics hold no bootstrap."""
    task = task_of(metrics)
    order = [name for name in comparison(metrics, split).index if name in metrics and "bootstrap" in metrics[name]["splits"][split]]
    if not order:
        return pd.DataFrame()
    base = "majority" if task.classification else "baseline"
    rows = {}
    for name in order:
        result = metrics[name]["splits"][split]
        drawn = result["bootstrap"]
        score, baseline = headline(result["model"], task), headline(result[base], task)
        rows[name] = {
            "clips": result["n_clips"],
            f"{CLASS_METRICS.get(drawn['metric'], drawn['metric'])} [{100 * drawn['level']:g}% interval]": _with_interval(score, drawn["model"]),
            "against the baseline": _with_interval(score - baseline, drawn["difference_interval"], sign=True),
            "better": "yes" if drawn["better_than_baseline"] else "no",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def _with_interval(value: float, bounds: list[float], sign: bool = False) -> str:
    form = "+.4f" if sign else ".4f"
    return f"{value:{form}} [{bounds[0]:{form}}, {bounds[1]:{form}}]"


def _certainty_blocks(metrics: dict[str, dict], split: str = "test") -> list[Block]:
    """The intervals table and which models beat the baseline, when the metrics hold a bootstrap."""
    table = certainty(metrics, split)
    if table.empty:
        return []
    drawn = next(m["splits"][split]["bootstrap"] for m in metrics.values() if "bootstrap" in m["splits"][split])
    baseline = "majority class" if task_of(metrics).classification else "train-mean baseline"
    better = [name for name in table.index if table.loc[name, "better"] == "yes"]
    verdict = f"Better than the {baseline}: {', '.join(better)}." if better else f"No model is better than the {baseline}."
    return [
        ("h2", f"Test split: how sure ({100 * drawn['level']:g}% bootstrap intervals)"),
        ("table", _formatted(table, 4)),
        (
            "p",
            f"{verdict} Intervals are percentile bootstraps over the split's clips ({drawn['resamples']} resamples, seed "
            f"{drawn['seed']}); the difference to the {baseline} is paired: both are scored on the same resamples, and a "
            "model is better only when the whole interval of the difference is above 0. On a few dozen clips, models "
            "whose intervals overlap are not told apart.",
        ),
    ]


def class_f1_table(metrics: dict[str, dict], split: str = "test") -> pd.DataFrame:
    """F1 per class (columns, with the split's clips of each) of every model, in the comparison's
    order, and of the yardsticks."""
    order = list(class_comparison(metrics, split).index)
    entries = {name: scores for name, scores, _ in _entries(metrics, split, CLASS_YARDSTICKS)}
    source = _yardstick_source(metrics, split)["splits"][split]["model"]["per_class"]
    classes = next(iter(metrics.values()))["classes"]
    columns = {c: f"{c} (n={source[c]['support']})" for c in classes}
    table = pd.DataFrame.from_dict({name: {columns[c]: entries[name]["per_class"][c]["f1"] for c in classes} for name in order}, orient="index")
    table.index.name = "model"
    return table


def summary_table(metrics: dict[str, dict]) -> pd.DataFrame:
    """summary.tsv: every model and yardstick on every split.

    Regression: 1-MAE and R^2 per trait and mean. Classification: accuracy, balanced accuracy,
    weighted and macro F1, and F1, precision and recall per class.
    """
    task = task_of(metrics)
    if task.classification:
        rows = []
        for split in SPLITS:
            for name, scores, n_clips in _entries(metrics, split, CLASS_YARDSTICKS):
                row = {"split": split, "model": name, "n_clips": n_clips, **{key: scores[key] for key in CLASS_METRICS}}
                for measure in ("f1", "precision", "recall"):
                    row |= {f"{measure}_{c}": scores["per_class"][c][measure] for c in task.classes}
                rows.append(row)
        return pd.DataFrame(rows)
    rows = []
    for split in SPLITS:
        source = _yardstick_source(metrics, split)
        entries = [(name, result["splits"][split]["model"], result["splits"][split]["n_clips"]) for name, result in metrics.items()]
        entries += [
            (label, source["splits"][split][who], source["splits"][split]["n_clips"])
            for who, label in YARDSTICKS.items()
            if source is not None and who in source["splits"][split]
        ]
        for name, scores, n_clips in entries:
            row = {"split": split, "model": name, "n_clips": n_clips}
            row |= {f"{t}_1mae": scores[t]["one_minus_mae"] for t in (*TRAITS, "mean")}
            row |= {f"{t}_r2": scores[t]["r2"] for t in (*TRAITS, "mean")}
            row |= {"mean_mae": scores["mean"]["mae"], "mean_pred_std": scores["mean"]["pred_std"], "mean_label_std": scores["mean"]["label_std"]}
            rows.append(row)
    return pd.DataFrame(rows)


def cam_table(localisations: dict[str, dict]) -> pd.DataFrame:
    """Per CAM model: how much of the hidden trait's map falls on its cue, against the cue's share.

    Each region (band, box, time) reads "mass (mean over the other traits) / share". Empty
    without a hidden cue.
    """
    rows = {}
    for name, result in localisations.items():
        band = result.get("hidden_band")
        if not band:
            continue
        cue = result["traits"][band["trait"]]
        others = [result["traits"][t] for t in TRAITS if t != band["trait"]]
        row = {"trait": band["trait"]}
        for key in ("band", "box", "time"):
            if f"{key}_mass" in cue:
                other = np.mean([o[f"{key}_mass"] for o in others])
                row[f"{key}: mass (other traits) / share"] = f"{cue[f'{key}_mass']:.3f} ({other:.3f}) / {cue[f'{key}_share']:.3f}"
            else:
                row[f"{key}: mass (other traits) / share"] = "-"
        row["peak band (Hz)"] = f"{cue['peak_band_hz']:.0f}" if "peak_band_hz" in cue else "-"
        row["peak band during the cue (Hz)"] = f"{cue['cue_peak_band_hz']:.0f}" if "cue_peak_band_hz" in cue else "-"
        row["peak time (s)"] = f"{cue['peak_time_s']:.2f}"
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def attention_table(attentions: dict[str, dict]) -> pd.DataFrame:
    """Per sequence model and output with planted moments among its top clips: how many there are,
    how many the attention peaks within the tolerance of, and the share; then the model's total."""
    rows = []
    for name, result in attentions.items():
        for output, found in result["outputs"].items():
            if found["planted"]:
                rows.append({"model": name, "output": output, "top clips": len(found["clips"]), **_peaks(found)})
        if result["planted"]:
            rows.append({"model": name, "output": "all", "top clips": sum(len(f["clips"]) for f in result["outputs"].values()), **_peaks(result)})
    columns = ["model", "output", "top clips", "with a planted moment", "peak within tolerance", "share"]
    return pd.DataFrame(rows, columns=columns).set_index("model")


def _peaks(found: dict) -> dict:
    return {"with a planted moment": found["planted"], "peak within tolerance": found["within"], "share": found["share"]}


def shown_output(attentions: dict[str, dict]) -> str:
    """The output whose gallery the page shows for every sequence model: the one with the most
    top clips with a planted moment over all models (the first output when none has any)."""
    outputs = list(next(iter(attentions.values()))["outputs"])
    planted = {output: sum(result["outputs"][output]["planted"] for result in attentions.values()) for output in outputs}
    return max(outputs, key=lambda output: (planted[output], -outputs.index(output)))


def _attention_blocks(attentions: dict[str, dict], galleries: dict[str, dict[str, str]], noun: str) -> list[Block]:
    """The sequence models' attention over time: the planted-moment table (synthetic data) and one gallery each."""
    page: list[Block] = [("h2", "Attention over time: when the sequence models looked")]
    table = attention_table(attentions)
    if len(table):
        tolerance = next(iter(attentions.values()))["tolerance_s"]
        page += [
            (
                "p",
                'The generator planted a moment in some clips (the MELD-layout set: the word "oh" and a voice change at '
                f"the same time, which alone tells surprise). For each {noun}'s top clips, how many have that moment and in "
                f"how many the model's attention over time peaks within {tolerance:g} s of it.",
            ),
            ("table", _formatted(table, 3)),
        ]
    shown = shown_output(attentions)
    for name in attentions:
        page.append(("image", (galleries[name][shown], f"{name}: attention over time of the top clips for {shown}")))
    page.append(("p", f"Galleries of every {noun} are in `attention/<model>/galleries/<{noun}>.png`, the peaks in `attention/<model>/attention.json`."))
    return page


def time_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Where the run's time went, per rule, from Snakemake's benchmark files.

    Parameters
    ----------
    jobs : one row per benchmarked job: ``rule``, ``job`` (its shard or model), ``s`` (wall
        seconds) and ``max_rss`` (MB), the columns of a benchmark file

    Returns
    -------
    pd.DataFrame
        Per rule, most time first: jobs, their seconds in all, their share of all jobs' seconds, the
        longest job and its seconds, the largest resident memory of a job (MB); a last row
        ``all`` sums them.
    """
    grouped = jobs.groupby("rule")
    longest = jobs.loc[grouped["s"].idxmax()].set_index("rule")
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "seconds": grouped["s"].sum(),
            "share (%)": 100 * grouped["s"].sum() / jobs["s"].sum(),
            "longest job": longest["job"],
            "its seconds": longest["s"],
            "peak memory (MB)": grouped["max_rss"].max(),
        }
    ).sort_values("seconds", ascending=False)
    longest_all = jobs.loc[jobs["s"].idxmax()]
    table.loc["all"] = [len(jobs), jobs["s"].sum(), 100.0, f"{longest_all['rule']} {longest_all['job']}", longest_all["s"], jobs["max_rss"].max()]
    table.index.name = "rule"
    return table


def blocks(
    *,
    dataset: str,
    manifest: pd.DataFrame,
    excluded: pd.DataFrame,
    embedder: dict,
    metrics: dict[str, dict],
    localisations: dict[str, dict],
    figures: dict,
    keras_models: list[str],
    timings: pd.DataFrame | None = None,
    fusion: pd.DataFrame | None = None,
    attentions: dict[str, dict] | None = None,
) -> list[Block]:
    """The page, top to bottom: warnings, clips, the comparison (classification: and F1 per class),
    the CAMs (profiles and one gallery per model: the hidden cue's trait, else the best-predicted
    output), every other figure, and where the time went (`time_table` of `timings`, if given).

    Parameters
    ----------
    embedder : the VGGish cache attributes ``source``, ``pretrained`` and ``description``
    metrics : model name -> that model's metrics.json content
    localisations : CAM model -> its localisation.json content
    figures : ``data`` (trait distributions or clips per class, sample clips), ``training`` and
        ``predictions`` (per model, in `keras_models` / `metrics` order: predicted vs true, or
        the confusion matrices), ``models`` (optional: the figures of all models, the per-class
        F1), ``cam_profiles`` (CAM model -> path) and ``cam_galleries`` (CAM model -> trait or
        class -> path): paths relative to the page
    fusion : each fusion model against each single-modality model on the test split
        (`impressions.models.modalities.fusion_against_single`); nothing shown when None or empty
    attentions : sequence model -> its attention.json content (`impressions.cam.attention`), its
        galleries in ``figures["attention_galleries"]`` (model -> output -> path); none: no section

    The task (regression or classification) is read from the metrics (`task_of`).
    """
    page: list[Block] = [("h1", f"impressions: run summary for `{dataset}`")]
    if not embedder.get("pretrained", False):
        users = " and ".join(name for name in metrics if name in MODELS and "vggish" in MODELS[name].families) or "no model of this run"
        page.append(
            (
                "warning",
                f"**WARNING: VGGish ran WITHOUT pretrained weights.** {embedder.get('description', '')}. "
                f"Embeddings (used by {users}) are random projections of the log-mel spectrogram, "
                "not AudioSet features; set `vggish.source: hub` with a TF Hub handle or a local SavedModel "
                "directory, or `checkpoint` with the official checkpoint, for real VGGish embeddings.",
            )
        )
    else:
        page.append(("p", f"VGGish: {embedder.get('description', '')}"))

    counts = manifest.groupby("split").size()
    left_out = excluded[~excluded["clip_id"].isin(manifest["clip_id"])]  # the rest are in, left out of some models only
    clips = pd.DataFrame(
        {"used": [int(counts.get(s, 0)) for s in SPLITS], "excluded": [int((left_out["split"] == s).sum()) for s in SPLITS]},
        index=pd.Index(SPLITS, name="split"),
    )
    page += [("h2", "Clips"), ("table", _formatted(clips, 0))]
    if len(excluded):
        listed = [f"`{r.clip_id or r.path}` ({r.split or '-'}, {r.stage}): {r.reason}" for r in excluded.itertuples()]
        page += [
            ("p", "Excluded files, labels and clips (full list in `excluded.tsv`; a feature stage leaves a clip out of the models reading it only):"),
            ("list", listed),
        ]

    task = task_of(metrics)
    if task.classification:
        page += _class_blocks(metrics, manifest, task)
    else:
        page += [
            ("h2", "Test split: every model against the yardsticks"),
            ("table", _formatted(comparison(metrics), 4)),
            (
                "p",
                "1-MAE is 1 minus the mean absolute error of the trait scores in [0, 1] (higher is better); R² and MAE "
                "are means over the five traits; sd ratio is the spread of the predictions over the spread of the labels "
                "(below 1: predictions regress to the mean). The baseline predicts the training split's mean for every "
                "clip; the ceiling (synthetic data only) is the best any model can reach given the label noise. "
                "`summary.tsv` has every split and R² per trait.",
            ),
            *_fewer_clips_note(metrics),
            *_certainty_blocks(metrics),
        ]
        means = pd.DataFrame({s: {name: result["splits"][s]["model"]["mean"]["one_minus_mae"] for name, result in metrics.items()} for s in SPLITS})
        means.index.name = "model"
        page += [("h2", "Mean 1-MAE per split"), ("table", _formatted(means, 4)), ("p", "A model far better on train than on val and test has overfitted.")]
    if fusion is not None and len(fusion):
        metric = CLASS_METRICS[task.metric] if task.classification else "mean 1-MAE"
        page += [
            ("h2", "Test split: fusion against each single modality"),
            ("table", _formatted(fusion_table(fusion), 4)),
            (
                "p",
                f"Each cell is the fusion model's {metric} minus the single-modality model's, on the test clips both "
                "predicted, with its paired bootstrap interval (both scored on the same resamples, as above); * marks an "
                "interval wholly above 0. " + " ".join(verdicts(fusion)),
            ),
        ]
    noun = "class" if task.classification else "trait"
    if localisations:
        page.append(("h2", f"Class activation maps: where the {'classes' if task.classification else 'traits'} were heard"))
        table = cam_table(localisations)
        if len(table):
            band = next(iter(localisations.values()))["hidden_band"]
            page += [
                (
                    "p",
                    f"The generator hid {band['trait']}'s cue as noise in {band['low_hz']:g}-{band['high_hz']:g} Hz during "
                    f"seconds {band['start_s']:g}-{band['end_s']:g} (its other cue, pitch, runs through the whole clip). "
                    "Mass is the share of the trait's mean normalised map (over its top clips) that falls in the band "
                    "(frequency only), in the box (band during those seconds) or in those seconds; share is the same "
                    "region's share of the input. Mass above share, and above the other traits' mass: the model looks "
                    "where the cue is. The raw-wave model hears 4 kHz audio (up to 2 kHz), so most of the band is above "
                    "what it can hear; only its time profile is measured.",
                ),
                ("table", _formatted(table, 3)),
            ]
        for name in localisations:
            trait = _shown_trait(localisations[name], metrics.get(name), task)
            page += [
                ("image", (figures["cam_profiles"][name], f"{name}: mean map per {noun} over bands and time")),
                ("image", (figures["cam_galleries"][name][trait], f"{name}: top clips for {trait}")),
            ]
        page.append(("p", f"Galleries of every {noun} are in `cam/<model>/galleries/<{noun}>.png`, the maps in `cam/<model>/cams.h5`."))
    if attentions:
        page += _attention_blocks(attentions, figures["attention_galleries"], noun)

    if task.classification:
        data, curves, heading, prediction = "clips per class per split", "loss and accuracy per epoch", "Confusion matrices (test split)", "confusion matrix"
    else:
        data, curves, heading, prediction = (
            "trait distributions per split",
            "loss and 1-MAE per epoch",
            "Predicted against true score (test split)",
            "predicted vs true",
        )
    page += [("h2", "Data"), *[("image", (path, caption)) for path, caption in zip(figures["data"], (data, "sample clips"))]]
    page.append(("h2", "Training curves"))
    page += [("image", (path, f"{name}: {curves}")) for name, path in zip(keras_models, figures["training"])]
    page.append(("h2", heading))
    page += [("image", (path, f"{name}: {prediction}")) for name, path in zip(metrics, figures["predictions"])]
    page += [("image", (path, "F1 per class of every model (test split)")) for path in figures.get("models", [])]
    if timings is not None and len(timings):
        page += [
            ("h2", "Where the time went"),
            ("table", _formatted(time_table(timings), 1)),
            (
                "p",
                "Wall seconds of each job as Snakemake's benchmark files (`benchmarks/<rule>/`) recorded them, for the "
                "rules that keep one (audio and video stages, embedding, Keras training, CAM maps); the rest (plots, "
                "metrics, scikit-learn models) take seconds each. Jobs run side by side when cores allow, so the run's "
                "wall time is less than the sum.",
            ),
        ]
    return page


def _fewer_clips_note(metrics: dict[str, dict]) -> list[Block]:
    """A paragraph naming the models scored on fewer test clips than the yardsticks, if any."""
    fewer = fewer_clips(metrics)
    if not fewer:
        return []
    names = ", ".join(f"{name} ({n})" for name, n in fewer.items())
    return [("p", f"Scored on fewer test clips than the yardsticks (the rest are in `models/<model>/excluded.tsv`): {names}.")]


def _class_blocks(metrics: dict[str, dict], manifest: pd.DataFrame, task: Task) -> list[Block]:
    """The classification results: clips per class, the comparison, F1 per class, the metric per split."""
    blocks: list[Block] = []
    if task.target in manifest.columns:
        labelled = manifest[manifest["split"].isin(SPLITS)]
        counts = labelled.groupby(["split", task.target]).size().unstack(fill_value=0).reindex(index=SPLITS, columns=list(task.classes), fill_value=0)
        counts.index.name = "split"
        blocks += [("h2", f"Clips per class ({task.target})"), ("table", _formatted(counts, 0))]
    first = next(iter(metrics.values()))
    metric = CLASS_METRICS[task.metric]
    blocks += [
        ("h2", "Test split: every model against the yardsticks"),
        ("table", _formatted(class_comparison(metrics, "test", task), 4)),
        (
            "p",
            f"Models are sorted by {metric}, the task's metric. Accuracy is the share of clips whose most probable class is "
            "the annotated one; balanced accuracy the mean recall over the classes the split holds; weighted F1 the classes' "
            "F1 averaged with their clip counts as weights, macro F1 their plain mean (a class with no clips and no "
            f"predictions counts as 0). The majority class predicts the training split's most frequent class "
            f"({first['majority_class']}) for every clip; the class-prior guess draws each clip's class at random with the "
            "training split's class frequencies (scored in expectation, not by one draw); the Bayes classifier (synthetic "
            "data only) knows the generator's hidden values: the best any model can do. `summary.tsv` has every split and "
            "precision, recall and F1 per class.",
        ),
        *_fewer_clips_note(metrics),
        *_certainty_blocks(metrics),
        ("h2", "Test split: F1 per class"),
        ("table", _formatted(class_f1_table(metrics, "test"), 3)),
        (
            "p",
            "A class scored 0 is one the model never gets right; the confusion matrices (below, and in "
            "`models/<model>/metrics.json`) show what it is taken for.",
        ),
    ]
    per_split = pd.DataFrame({s: {name: result["splits"][s]["model"][task.metric] for name, result in metrics.items()} for s in SPLITS})
    per_split.index.name = "model"
    blocks += [
        ("h2", f"{metric[0].upper()}{metric[1:]} per split"),
        ("table", _formatted(per_split, 4)),
        ("p", "A model far better on train than on val and test has overfitted."),
    ]
    return blocks


def _shown_trait(localisation: dict, metrics: dict | None, task: Task = FIRST_IMPRESSIONS) -> str:
    """The output whose gallery the page shows: the hidden cue's trait, else the model's best on
    test (regression: by R^2; classification: the class of highest F1)."""
    if localisation.get("hidden_band"):
        return localisation["hidden_band"]["trait"]
    if metrics is None:
        return task.outputs[0]
    if task.classification:
        per_class = metrics["splits"]["test"]["model"]["per_class"]
        return max(task.classes, key=lambda c: per_class[c]["f1"])
    return max(TRAITS, key=lambda t: metrics["splits"]["test"]["model"][t]["r2"])


def to_markdown(page: list[Block]) -> str:
    lines = []
    for kind, content in page:
        if kind == "h1":
            lines += [f"# {content}", ""]
        elif kind == "h2":
            lines += [f"## {content}", ""]
        elif kind == "warning":
            lines += [f"> {content}", ""]
        elif kind == "p":
            lines += [content, ""]
        elif kind == "list":
            lines += [*(f"- {item}" for item in content), ""]
        elif kind == "table":
            lines += [_markdown_table(content), ""]
        elif kind == "image":
            path, caption = content
            lines += [f"![{caption}]({path})", ""]
    return "\n".join(lines)


def _formatted(table: pd.DataFrame, digits: int) -> pd.DataFrame:
    """The table as text for the page: the index as the first column, floats to `digits` places, NaN as "-"."""

    def cell(value) -> str:
        if isinstance(value, (float, np.floating)):
            return "-" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    return table.reset_index().map(cell)


def _markdown_table(table: pd.DataFrame) -> str:
    header = list(map(str, table.columns))
    rows = ["| " + " | ".join(row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *rows])


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
blockquote { background: #fff3cd; border-left: 5px solid #d39e00; margin: 1em 0; padding: 0.6em 1em; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 0.2em; }
nav { margin: 0 0 1.5em; color: #555; }
"""


def to_html(page: list[Block], root: str | os.PathLike) -> str:
    """One HTML file with every image embedded (base64), so it opens anywhere without its folder."""
    title = next(content for kind, content in page if kind == "h1")
    sections = [content for kind, content in page if kind == "h2"]
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_inline(title)}</title><style>{STYLE}</style></head><body>"]
    for kind, content in page:
        if kind == "h1":
            parts.append(f"<h1>{_inline(content)}</h1>")
            parts.append("<nav>Contents: " + " · ".join(f"<a href='#s{i}'>{_inline(h)}</a>" for i, h in enumerate(sections)) + "</nav>")
        elif kind == "h2":
            parts.append(f"<h2 id='s{sections.index(content)}'>{_inline(content)}</h2>")
        elif kind == "p":
            parts.append(f"<p>{_inline(content)}</p>")
        elif kind == "warning":
            parts.append(f"<blockquote>{_inline(content)}</blockquote>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in content) + "</ul>")
        elif kind == "table":
            parts.append(content.to_html(index=False, border=0))
        elif kind == "image":
            path, caption = content
            data = base64.b64encode((Path(root) / path).read_bytes()).decode("ascii")
            parts.append(
                f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'>"
                f"<figcaption>{html.escape(caption)} (<code>{html.escape(path)}</code>)</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def without_figures(page: list[Block]) -> list[Block]:
    """The page's text and tables only (sections left empty dropped): what the Snakemake report
    shows beside its own figures."""
    kept = [block for block in page if block[0] != "image"]
    return [block for i, block in enumerate(kept) if block[0] != "h2" or (i + 1 < len(kept) and kept[i + 1][0] != "h2")]


def _inline(text: str) -> str:
    """Escape HTML, then render the two markdown marks the page uses: **bold** and `code`."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)
