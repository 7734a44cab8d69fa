"""The summary's view of `impressions.models.modalities.fusion_against_single`: does fusing the
modalities beat every single one, by how much, and how sure is that."""

from __future__ import annotations

import pandas as pd


def fusion_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """A row per single-modality model (its modality in brackets), a column per fusion model (its
    modalities in brackets): the fusion model's margin over it with the paired interval,
    ``+0.0940 [-0.0200, +0.2100]``, starred when the whole interval is above 0."""

    def cell(row) -> str:
        return f"{row.difference:+.4f} [{row.low:+.4f}, {row.high:+.4f}]{' *' if row.better else ''}"

    cells = comparison.assign(
        row=[f"{r.single} ({r.single_modality})" for r in comparison.itertuples()],
        column=[f"{r.multimodal} ({r.multimodal_modalities})" for r in comparison.itertuples()],
        cell=[cell(r) for r in comparison.itertuples()],
    )
    table = cells.pivot(index="row", columns="column", values="cell")
    table = table.loc[list(dict.fromkeys(cells["row"])), list(dict.fromkeys(cells["column"]))]
    table.index.name, table.columns.name = "single-modality model", None
    return table


def verdicts(comparison: pd.DataFrame) -> list[str]:
    """One sentence per fusion model: whether it beats every single-modality model (by its point
    estimate; and significantly), its smallest margin and over which model."""
    sentences = []
    for fusion, rows in comparison.groupby("multimodal", sort=False):
        closest = rows.loc[rows["difference"].idxmin()]
        margin = f"its smallest margin is {closest.difference:+.4f} [{closest.low:+.4f}, {closest.high:+.4f}], over {closest.single}"
        if (rows["difference"] > 0).all():
            significant = int(rows["better"].sum())
            sentences.append(f"{fusion} beats every single-modality model ({significant} of {len(rows)} significantly); {margin}.")
        else:
            behind = ", ".join(rows.loc[rows["difference"] <= 0, "single"])
            sentences.append(f"{fusion} does not beat every single-modality model (not {behind}); {margin}.")
    return sentences
