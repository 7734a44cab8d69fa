"""Rule sheet: the clip sheet (clips.tsv), from the files found and the labels read by the dataset kind's adapter."""

from pathlib import Path

from snakemake.utils import validate

from impressions import SPLITS
from impressions.data import kinds
from impressions.data.clips import Clip
from impressions.data.sheet import Listing, Skipped, build_sheet
from impressions.io.atomic import write_tsv
from impressions.io.errors import InputError
from impressions.io.runlog import rule_log

SCHEMA = Path(snakemake.scriptdir).parent / "schemas" / "clips.schema.yaml"  # noqa: F821

with rule_log(snakemake) as log:  # noqa: F821
    params = snakemake.params  # noqa: F821
    adapter = kinds.adapter(params.kind)
    listing = Listing([Clip(*clip) for clip in params.files["clips"]], [Skipped(*skipped) for skipped in params.files["skipped"]])
    labels, reasons = adapter.read_labels(Path(params.root), params.dataset)
    sheet, excluded = build_sheet(listing, labels, reasons, by_split=adapter.BY_SPLIT)
    validate(sheet, str(SCHEMA))
    found = len(listing.clips) + len(listing.skipped)
    log.info("%d files found (%d clips), %d label rows: %d clips in the sheet, %d left out", found, len(listing.clips), len(labels), len(sheet), len(excluded))
    for split, count in sheet.groupby("split").size().items():
        log.info("  %s: %d clips", split, count)
    for row in excluded.itertuples():
        log.info("  left out %s (%s, %s): %s", row.clip_id or "-", row.split or "-", row.path or "no file", row.reason)
    empty = [split for split in SPLITS if not (sheet["split"] == split).any()]
    if empty:
        raise InputError(f"split {', '.join(empty)}: no clip has both a file and usable labels; see {snakemake.output.excluded} for why")  # noqa: F821
    write_tsv(snakemake.output.sheet, sheet, exact=True)  # noqa: F821
    write_tsv(snakemake.output.excluded, excluded)  # noqa: F821
