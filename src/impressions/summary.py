"""The short human-readable summary of a run (results/<dataset>/summary.md)."""

from __future__ import annotations

import pandas as pd

from impressions import TRAITS


def _row(name: str, values: list[str]) -> str:
    return "| " + " | ".join([name, *values]) + " |"


def _table(header: list[str], rows: list[str]) -> list[str]:
    return [_row(header[0], header[1:]), "|" + "---|" * len(header), *rows]


def render(
    *,
    dataset: str,
    manifest: pd.DataFrame,
    excluded: pd.DataFrame,
    embedder: dict,
    metrics: dict[str, dict],
    ground_truth: dict | None = None,
) -> str:
    """Markdown: what went in, what was excluded and why, which VGGish, and test metrics.

    Parameters
    ----------
    embedder : the VGGish cache attributes ``source``, ``pretrained`` and ``description``
    metrics : model name -> that model's metrics.json content
    ground_truth : the synthetic dataset's ground_truth.json, when there is one
    """
    lines = [f"# impressions: run summary for `{dataset}`", ""]
    if not embedder.get("pretrained", False):
        lines += [
            "> **WARNING: VGGish ran WITHOUT pretrained weights.** "
            f"{embedder.get('description', '')}. Embeddings are random projections of the log-mel "
            "spectrogram, not AudioSet features; set `vggish.source: hub` with a TF Hub handle or a "
            "local SavedModel directory for real VGGish embeddings.",
            "",
        ]
    else:
        lines += [f"VGGish: {embedder.get('description', '')}", ""]

    counts = manifest.groupby("split").size()
    lines += ["## Clips", ""]
    lines += _table(
        ["split", "used", "excluded"],
        [_row(s, [str(int(counts.get(s, 0))), str(int((excluded["split"] == s).sum()))]) for s in ("train", "val", "test")],
    )
    if len(excluded):
        lines += ["", "Excluded clips (full list in `excluded.tsv`):", ""]
        lines += [f"- `{r.clip_id}` ({r.split}): {r.reason}" for r in excluded.itertuples()]

    lines += ["", "## Test split, 1-MAE", ""]
    header = ["model", *TRAITS, "mean", "R^2 (mean)"]
    rows = []
    for name, result in sorted(metrics.items()):
        test = result["splits"]["test"]
        rows.append(_row(name, [f"{test['model'][t]['one_minus_mae']:.4f}" for t in (*TRAITS, "mean")] + [f"{test['model']['mean']['r2']:.3f}"]))
    if metrics:
        test = next(iter(metrics.values()))["splits"]["test"]
        rows.append(_row("train-mean baseline", [f"{test['baseline'][t]['one_minus_mae']:.4f}" for t in (*TRAITS, "mean")] + ["-"]))
    if ground_truth is not None:
        ceiling = ground_truth["splits"]["test"]
        rows.append(_row("noise ceiling (ground truth)", [f"{ceiling[t]['ceiling_1mae']:.4f}" for t in (*TRAITS, "mean")] + ["-"]))
    lines += _table(header, rows)
    lines += [
        "",
        "1-MAE is 1 minus the mean absolute error of the trait scores in [0, 1]; the baseline predicts "
        "the training split's mean for every clip; the ceiling is the best any model can reach given "
        "the label noise of the synthetic data.",
        "",
    ]
    return "\n".join(lines)
