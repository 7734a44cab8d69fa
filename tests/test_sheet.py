"""The clip sheet's join: every file found and every label row ends in the sheet or is left out with its reason."""

import pandas as pd

from impressions.data.clips import EXCLUDED_COLUMNS, Clip
from impressions.data.sheet import Listing, Skipped, build_sheet


def labels_frame(rows):
    """Label rows (clip_id, split, source, score) as an adapter returns them, all usable."""
    frame = pd.DataFrame(rows, columns=["clip_id", "split", "source", "score"])
    return frame, pd.Series([""] * len(frame))


def test_each_file_and_label_is_in_the_sheet_or_left_out_with_its_reason():
    listing = Listing(
        [
            Clip("a", "train", "d/train/a.mp4"),
            Clip("b", "train", "d/train/b.mp4"),  # no label row
            Clip("c", "train", "d/train/x/c.mp4"),  # the same id twice in train
            Clip("c", "train", "d/train/y/c.mp4"),
            Clip("e", "val", "d/val/e.mp4"),  # labelled for test only
            Clip("f", "test", "d/test/f.mp4"),  # labelled twice
        ],
        [Skipped("train", "d/train/notes.txt", "not a clip: text")],
    )
    labels, reasons = labels_frame(
        [("a", "train", "tr.pkl", 0.1), ("c", "train", "tr.pkl", 0.2), ("g", "val", "va.pkl", 0.3), ("e", "test", "te.pkl", 0.4)]
        + [("f", "test", "te.pkl", 0.5), ("f", "test", "te2.pkl", 0.6)]
    )
    sheet, excluded = build_sheet(listing, labels, reasons, by_split=True)
    assert list(sheet.columns) == ["clip_id", "split", "path", "score"]
    assert sheet.to_dict("records") == [{"clip_id": "a", "split": "train", "path": "d/train/a.mp4", "score": 0.1}]
    assert list(excluded.columns) == EXCLUDED_COLUMNS and set(excluded["stage"]) == {"sheet"}
    why = {(r.clip_id, r.path): r.reason for r in excluded.itertuples()}
    assert why[("", "d/train/notes.txt")] == "not a clip: text"
    assert why[("b", "d/train/b.mp4")] == "no labels: no label file of the train lists it"
    where = {(r.clip_id, r.path): (r.split, r.shard) for r in excluded.itertuples()}
    assert where[("", "d/train/notes.txt")] == where[("b", "d/train/b.mp4")] == where[("c", "d/train/x/c.mp4")] == ("train", "")
    assert where[("e", "d/val/e.mp4")] == ("val", "") and where[("e", "")] == ("test", "") and where[("f", "d/test/f.mp4")] == ("test", "")
    assert why[("c", "d/train/x/c.mp4")] == "duplicate clip id: the same id is also at d/train/y/c.mp4; no copy is used"
    assert why[("c", "d/train/y/c.mp4")] == "duplicate clip id: the same id is also at d/train/x/c.mp4; no copy is used"
    assert why[("e", "d/val/e.mp4")] == "no labels: no label file of the val lists it (it is labelled in te.pkl, for another split)"
    assert why[("e", "")] == "no file: labelled in te.pkl but no clip file was found"
    assert why[("g", "")] == "no file: labelled in va.pkl but no clip file was found"
    assert [r.reason for r in excluded.itertuples() if r.clip_id == "f"] == [
        "duplicate labels: f is labelled twice or more (here in te.pkl); none is used",
        "duplicate labels: f is labelled twice or more (here in te2.pkl); none is used",
    ]
    # every file is accounted for once, every label row of a clip not in the sheet at least once
    files = {c.path for c in listing.clips} | {s.path for s in listing.skipped}
    assert files == set(sheet["path"]) | (set(excluded["path"]) - {""})
    assert set(labels["clip_id"]) <= set(sheet["clip_id"]) | set(excluded["clip_id"])


def test_unusable_labels_are_left_out_with_the_adapters_reason():
    listing = Listing([Clip("a", "train", "a.mp4"), Clip("b", "train", "b.mp4")], [])
    labels, _ = labels_frame([("a", "train", "tr.pkl", 1.5), ("b", "train", "tr.pkl", 0.5)])
    sheet, excluded = build_sheet(listing, labels, pd.Series(["invalid labels: score outside [0, 1]", ""]), by_split=True)
    assert list(sheet["clip_id"]) == ["b"]
    assert excluded[["clip_id", "reason"]].values.tolist() == [["a", "invalid labels: score outside [0, 1]"]]


def test_a_table_gives_the_split_and_clips_are_sorted_by_split():
    listing = Listing([Clip("z", "", "r/z.wav"), Clip("y", "", "r/y.wav"), Clip("x", "", "r/x.mp3")], [])
    labels, reasons = labels_frame([("z", "train", "t.csv", 1), ("y", "predict", "u.csv", None), ("x", "test", "t.csv", 2)])
    sheet, excluded = build_sheet(listing, labels, reasons, by_split=False)
    assert excluded.empty
    assert list(zip(sheet["clip_id"], sheet["split"])) == [("z", "train"), ("x", "test"), ("y", "predict")]


def test_a_table_leaves_a_file_without_labels_out_of_the_dataset_with_no_split():
    listing = Listing([Clip("z", "", "r/z.wav"), Clip("w", "", "r/w.wav")], [])
    labels, reasons = labels_frame([("z", "train", "t.csv", 1)])
    sheet, excluded = build_sheet(listing, labels, reasons, by_split=False)
    assert list(sheet["clip_id"]) == ["z"]
    assert excluded.to_dict("records") == [
        {"clip_id": "w", "split": "", "shard": "", "path": "r/w.wav", "stage": "sheet", "reason": "no labels: no label file of the dataset lists it"}
    ]


def test_labels_without_any_file_found_are_all_left_out():
    labels, reasons = labels_frame([("a", "train", "tr.pkl", 0.1)])
    sheet, excluded = build_sheet(Listing([], []), labels, reasons, by_split=True)
    assert sheet.empty and list(sheet.columns) == ["clip_id", "split", "path", "score"]
    assert excluded[["clip_id", "split", "reason"]].values.tolist() == [["a", "train", "no file: labelled in tr.pkl but no clip file was found"]]
