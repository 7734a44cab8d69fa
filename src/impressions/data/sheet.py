"""The clip sheet: every clip with its split, path, labels and metadata, and every file or label left out.

Each dataset kind (`impressions.data.kinds`) lists the files it finds and reads its labels; this
module joins the two the same way for every kind, so that no file and no labelled id is lost
without a recorded reason: a file without labels, labels without a file, an id found twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from impressions.data.clips import EXCLUDED_COLUMNS, SHEET_COLUMNS, SHEET_SPLITS, Clip


@dataclass(frozen=True)
class Skipped:
    """A file found in the dataset's folders that is not a clip, and why."""

    split: str
    path: str
    reason: str


@dataclass(frozen=True)
class Listing:
    """What a dataset's folders hold: the clips (one per media file) and the other files."""

    clips: list[Clip]
    skipped: list[Skipped]


def build_sheet(listing: Listing, labels: pd.DataFrame, reasons: pd.Series, *, by_split: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join the files found with the labels read; every file and every label row ends in one table.

    Parameters
    ----------
    listing : the files found (clips and skipped files)
    labels : one row per labelled (or listed) clip: ``clip_id``, ``split``, ``source`` (the file
        it was read from), then the kind's label and metadata columns
    reasons : per row of `labels`, why its labels are unusable ("" when they are fine)
    by_split : a clip matches a label row of its own split only (the folder kinds); otherwise
        the label row gives the clip its split (the table kind)

    Returns
    -------
    sheet : SHEET_COLUMNS, then the label and metadata columns; sorted by split and clip id
    excluded : EXCLUDED_COLUMNS (stage "sheet", shard left empty for the manifest to fill)
    """
    excluded = [_row(s.split, s.path, "", s.reason) for s in listing.skipped]
    files = pd.DataFrame([vars(c) for c in listing.clips], columns=["clip_id", "split", "path"])
    copies = files.groupby("clip_id")["path"].transform("size") > 1
    for row in files[copies].itertuples():
        others = sorted(set(files.loc[files["clip_id"] == row.clip_id, "path"]) - {row.path})
        excluded.append(_row(row.split, row.path, row.clip_id, f"duplicate clip id: the same id is also at {', '.join(others)}; no copy is used"))
    duplicated = set(files.loc[copies, "clip_id"])
    files = files[~copies]

    labels = labels.assign(reason=reasons.to_numpy())
    twice = labels.duplicated(["clip_id"], keep=False)
    repeated = labels[twice].itertuples()
    labels.loc[twice, "reason"] = [f"duplicate labels: {r.clip_id} is labelled twice or more (here in {r.source}); none is used" for r in repeated]
    keys = ["clip_id", "split"] if by_split else ["clip_id"]
    joined = (files if by_split else files.drop(columns=["split"])).merge(labels, on=keys, how="outer", indicator=True)
    joined[["split", "path", "source"]] = joined[["split", "path", "source"]].fillna("")
    sheet_rows = []
    for row in joined.to_dict("records"):
        if row["_merge"] == "left_only":
            elsewhere = labels.loc[labels["clip_id"] == row["clip_id"], "source"]
            where = f" (it is labelled in {', '.join(elsewhere)}, for another split)" if len(elsewhere) else ""
            excluded.append(_row(row["split"], row["path"], row["clip_id"], f"no labels: no label file of the {row['split'] or 'dataset'} lists it{where}"))
        elif row["_merge"] == "right_only":
            if row["clip_id"] not in duplicated:  # its files are excluded above, with the reason
                excluded.append(_row(row["split"], "", row["clip_id"], f"no file: labelled in {row['source']} but no clip file was found"))
        elif row["reason"]:
            excluded.append(_row(row["split"], row["path"], row["clip_id"], row["reason"]))
        else:
            sheet_rows.append(row)
    extra = [c for c in labels.columns if c not in (*SHEET_COLUMNS, "source", "reason")]
    sheet = pd.DataFrame(sheet_rows, columns=[*SHEET_COLUMNS, *extra])
    sheet["split"] = pd.Categorical(sheet["split"], categories=SHEET_SPLITS)
    sheet = sheet.sort_values(["split", "clip_id"]).reset_index(drop=True)
    sheet["split"] = sheet["split"].astype(str)
    excluded_frame = pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS).sort_values(["clip_id", "path"]).reset_index(drop=True)
    return sheet, excluded_frame


def _row(split: str, path: str, clip_id: str, reason: str) -> dict:
    return {"clip_id": clip_id, "split": split, "shard": "", "path": path, "stage": "sheet", "reason": reason}


def walk(folder: Path, root: Path) -> list[str]:
    """Every file (or link) under `folder`, recursively and sorted, as a path relative to `root`."""
    return sorted(str(path.relative_to(root)) for path in folder.rglob("*") if path.is_file() or path.is_symlink())
