"""The dataset kinds' adapters: which files are clips, which ids they get, how labels are read."""

import os

import pandas as pd
import pytest

from impressions import LABELS
from impressions.data import kinds
from impressions.data.clips import Clip
from impressions.data.kinds import chalearn, meld, table
from impressions.io.errors import InputError
from planted import py2_pickle


def touch(path, data=b""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def chalearn_layout(root):
    """The nested layout of the official archives, with an upper-case extension and junk files."""
    for relpath in ["train/training80_01/aaaaaaaaaaa.001.mp4", "train/training80_02/bbbbbbbbbbb.002.MP4", "train/training80_02/._bbbbbbbbbbb.002.mp4"]:
        touch(root / relpath)
    touch(root / "train/training80_01/notes.txt")
    touch(root / "val/validation80_01/ccccccccccc.003.mp4")
    touch(root / "test/ddddddddddd.004.mp4")
    for name in ("annotation_training.pkl", "annotation_validation.pkl", "annotation_test.pkl"):
        touch(root / name)


def test_chalearn_clips_are_found_in_every_sub_folder_and_any_case(tmp_path):
    chalearn_layout(tmp_path)
    listing = kinds.listing("chalearn", str(tmp_path), {"splits": {}})
    assert [(c.clip_id, c.split) for c in listing.clips] == [
        ("aaaaaaaaaaa.001", "train"),
        ("bbbbbbbbbbb.002", "train"),
        ("ccccccccccc.003", "val"),
        ("ddddddddddd.004", "test"),
    ]
    assert listing.clips[1].path == f"{tmp_path}/train/training80_02/bbbbbbbbbbb.002.MP4"
    assert sorted((s.path.removeprefix(f"{tmp_path}/"), s.reason) for s in listing.skipped) == [
        ("train/training80_01/notes.txt", "not a clip: the chalearn layout's clips are .mp4 files"),
        ("train/training80_02/._bbbbbbbbbbb.002.mp4", "not a clip: a hidden file"),
    ]


@pytest.mark.parametrize(
    "remove, message",
    [
        ("val", r"dataset.splits.val.videos: .*/val is not a folder"),
        ("annotation_test.pkl", r"dataset.splits.test.annotations: .*annotation_test.pkl is missing"),
        ("val/validation80_01/ccccccccccc.003.mp4", r"split val: no .mp4 clip under .*/val \(searched all sub-folders\)"),
    ],
)
def test_chalearn_a_missing_folder_label_file_or_empty_split_is_named(tmp_path, remove, message):
    chalearn_layout(tmp_path)
    target = tmp_path / remove
    if target.is_dir():
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(InputError, match=message):
        kinds.listing("chalearn", str(tmp_path), {"splits": {}})


def test_a_link_whose_target_is_gone_is_skipped_with_the_target_named(tmp_path):
    chalearn_layout(tmp_path)
    (tmp_path / "val/validation80_01/eeeeeeeeeee.005.mp4").symlink_to(tmp_path / "moved/eeeeeeeeeee.005.mp4")
    listing = kinds.listing("chalearn", str(tmp_path), {"splits": {}})
    assert "eeeeeeeeeee.005" not in {c.clip_id for c in listing.clips}
    (skipped,) = [s for s in listing.skipped if s.path.endswith("eeeeeeeeeee.005.mp4")]
    assert skipped.reason == f"not a clip: a link to {tmp_path}/moved/eeeeeeeeeee.005.mp4, which does not exist"


def test_chalearn_white_space_in_a_name_becomes_an_underscore_in_file_and_label_alike(tmp_path):
    chalearn_layout(tmp_path)
    touch(tmp_path / "val/validation80_01/my clip\t01.001.mp4")
    assert "my_clip_01.001" in {c.clip_id for c in kinds.listing("chalearn", str(tmp_path), {"splits": {}}).clips}
    for name in chalearn.default_splits().values():
        scores = {label: {"my clip\t01.001.mp4": 0.5} for label in LABELS}
        (tmp_path / name["annotations"]).write_bytes(py2_pickle(scores))
    assert set(chalearn.read_labels(tmp_path, {"splits": {}})[0]["clip_id"]) == {"my_clip_01.001"}


def test_chalearn_labels_from_each_split_and_out_of_range_scores_flagged(tmp_path):
    for split, name in chalearn.default_splits().items():
        scores = {label: {f"{split[:1] * 11}.001.mp4": 0.5, f"{split[:1] * 11}.002.mp4": 0.25} for label in LABELS}
        scores["openness"][f"{split[:1] * 11}.002.mp4"] = 1.25
        (tmp_path / name["annotations"]).write_bytes(py2_pickle(scores, protocol=2))  # as ChaLearn's Python 2 wrote them
    labels, reasons = chalearn.read_labels(tmp_path, {"splits": {}})
    assert list(labels.columns) == ["clip_id", "split", "source", *LABELS]
    assert list(labels["clip_id"]) == ["ttttttttttt.001", "ttttttttttt.002", "vvvvvvvvvvv.001", "vvvvvvvvvvv.002", "ttttttttttt.001", "ttttttttttt.002"]
    assert list(labels["split"]) == ["train", "train", "val", "val", "test", "test"]
    assert list(reasons) == ["", "invalid labels: openness outside [0, 1] or missing"] * 3


def test_chalearn_labels_at_the_bounds_and_in_files_the_config_names(tmp_path):
    dataset = {"splits": {"train": {"videos": "t", "annotations": "train.pkl"}, "test": {"videos": "s", "annotations": "test.pkl"}}}
    assert chalearn.label_files(dataset) == ["train.pkl", "test.pkl"] and chalearn.label_columns(dataset) == list(LABELS)
    scores = {label: {"aaaaaaaaaaa.001.mp4": 0.0, "aaaaaaaaaaa.002.mp4": 1.0} for label in LABELS}
    (tmp_path / "train.pkl").write_bytes(py2_pickle(scores))
    scores = {label: {"bbbbbbbbbbb.001.mp4": -0.5 if label in ("openness", "interview") else 0.5} for label in LABELS}
    (tmp_path / "test.pkl").write_bytes(py2_pickle(scores))
    labels, reasons = chalearn.read_labels(tmp_path, dataset)
    assert list(labels.index) == [0, 1, 2] and list(labels["source"]) == ["train.pkl", "train.pkl", "test.pkl"]
    assert list(reasons) == ["", "", "invalid labels: openness, interview outside [0, 1] or missing"]  # 0 and 1 are scores


def test_chalearn_clip_is_an_mp4_named_by_its_id():
    assert chalearn.identify("train", "train/training80_01/aaaaaaaaaaa.001.mp4") == ("aaaaaaaaaaa.001", "")


def test_meld_utterance_ids_carry_the_split_because_dialogue_ids_restart():
    assert meld.identify("train", "train_splits/dia0_utt3.mp4") == ("train_dia0_utt3", "")
    assert meld.identify("val", "dev_splits_complete/DIA12_UTT0.MP4") == ("val_dia12_utt0", "")
    assert meld.identify("test", "output_repeated_splits_test/._dia0_utt3.mp4")[0] is None
    assert meld.identify("test", "output_repeated_splits_test/final_videos_testdia0_utt3.mp4")[0] is None


def test_meld_text_in_the_encodings_found_in_the_wild():
    text = "Sr No.,Utterance\n1,I don’t know… café\n"
    assert meld.decode_text(text.encode("utf-8")) == text
    assert meld.decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    mixed = "Sr No.,Utterance\n".encode() + "1,I don\x92t know\n".encode("latin1") + "2,café\n".encode("utf-8")
    assert meld.decode_text(mixed) == "Sr No.,Utterance\n1,I don’t know\n2,café\n"


MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def meld_layout(root):
    """MELD.Raw as it unpacks: the three split folders (with a macOS copy and a stray file) and CSVs."""
    for relpath in ["train_splits/dia0_utt0.mp4", "train_splits/._dia0_utt0.mp4", "dev_splits_complete/dia1_utt2.mp4"]:
        touch(root / relpath)
    touch(root / "output_repeated_splits_test/dia3_utt4.mp4")
    touch(root / "output_repeated_splits_test/notes.txt")
    rows = {"train": "1,NA,Ross,Joy,Positive ,0,0,1,2,a,b\n", "dev": "1,Hm.,Joey,neutral,neutral,1,2,1,2,a,b\n", "test": "1,Oh.,Rachel,fear,calm,3,4,1,2,a,b\n"}
    for split, body in rows.items():
        (root / f"{split}_sent_emo.csv").write_text(MELD_HEADER + body)


def test_meld_finds_the_official_layout_and_reads_its_csvs_by_split(tmp_path):
    meld_layout(tmp_path)
    found = kinds.listing("meld", str(tmp_path), {"splits": {}})
    assert [(c.clip_id, c.split, os.path.relpath(c.path, tmp_path)) for c in found.clips] == [
        ("train_dia0_utt0", "train", "train_splits/dia0_utt0.mp4"),
        ("val_dia1_utt2", "val", "dev_splits_complete/dia1_utt2.mp4"),
        ("test_dia3_utt4", "test", "output_repeated_splits_test/dia3_utt4.mp4"),
    ]
    assert meld.label_files({}) == ["train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv"]
    assert meld.label_columns({}) == ["emotion", "sentiment"]
    labels, reasons = meld.read_labels(tmp_path, {})
    assert list(labels.index) == [0, 1, 2] and list(labels["split"]) == ["train", "val", "test"]
    assert list(labels["source"]) == ["train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv"]
    assert labels.loc[0, "text"] == "NA" and labels.loc[0, "sentiment"] == "positive"  # text kept as written; labels trimmed, lower case
    assert list(reasons) == ["", "", "invalid labels: sentiment 'calm' is not one of neutral, positive, negative"]


@pytest.mark.parametrize("missing", ["train_splits", "dev_sent_emo.csv"])
def test_meld_names_a_missing_folder_or_csv(tmp_path, missing):
    meld_layout(tmp_path)
    target = tmp_path / missing
    if target.is_dir():
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(InputError, match=missing):
        kinds.listing("meld", str(tmp_path), {})


def test_meld_timestamps_in_seconds():
    assert meld.seconds("01:02:03,5") == 3723.5 and meld.seconds(" 00:00:07.042 ") == 7.042 and meld.seconds("7") != meld.seconds("7")


def test_a_meld_csv_that_is_no_csv_or_lacks_columns_is_named(tmp_path):
    (tmp_path / "a.csv").write_text('Sr No.,Utterance\n1,"never closed\n')
    with pytest.raises(InputError, match=r"a.csv: not a readable CSV"):
        meld.read_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("Sr No.,Utterance\n1,Hi\n")
    with pytest.raises(InputError, match=r"b.csv: columns \['Speaker'"):
        meld.read_csv(tmp_path / "b.csv")


def test_meld_labels_keep_text_speaker_and_dialogue(tmp_path):
    rows = {
        "train_sent_emo.csv": '1,"Oh, hi!",Monica,Joy,positive,0,0,1,2,"00:16:16,059","00:16:17,100"\n2,No.,Ross,rage,negative,0,1,1,2,a,b\n',
        "dev_sent_emo.csv": "1,Hm.,Joey,neutral,neutral,3,0,4,5,a,b\n",
        "test_sent_emo.csv": "1,Why?,Rachel,surprise,positive,x,0,1,1,a,b\n",
    }
    for name, body in rows.items():
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + (MELD_HEADER + body).encode())
    labels, reasons = meld.read_labels(tmp_path, {"splits": {}})
    assert list(labels["clip_id"]) == ["train_dia0_utt0", "train_dia0_utt1", "val_dia3_utt0", "test_row2"]
    first = labels.iloc[0]
    assert (first["emotion"], first["sentiment"], first["text"], first["speaker"], first["dialogue"], first["start_s"], first["end_s"]) == (
        "joy",
        "positive",
        "Oh, hi!",
        "Monica",
        "0",
        16 * 60 + 16.059,
        16 * 60 + 17.1,
    )
    assert labels.loc[1, "start_s"] != labels.loc[1, "start_s"]  # "a" is no timestamp: NaN
    assert list(reasons) == [
        "",
        "invalid labels: emotion 'rage' is not one of neutral, joy, surprise, anger, sadness, disgust, fear",
        "",
        "invalid labels: Dialogue_ID or Utterance_ID is not a number",
    ]


def test_meld_csv_without_the_official_columns_is_refused(tmp_path):
    (tmp_path / "x.csv").write_text("Utterance,Emotion\nhi,joy\n")
    with pytest.raises(InputError, match=r"x.csv: columns \['Sr No.', 'Speaker', 'Sentiment'"):
        meld.read_csv(tmp_path / "x.csv")


def table_settings(**overrides):
    defaults = {"files": ["train.csv", "test.csv"], "path_column": "file", "label_columns": ["emotion"], "split_column": ""}
    return {"table": defaults | {"split_fractions": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 0} | overrides}


def write_tables(root, n_per_class=10):
    names = [(f"clips/{c}_{i:02d}.{'wav' if i % 2 else 'mp3'}", c) for c in ("happy", "sad", "angry") for i in range(n_per_class)]
    pd.DataFrame(names, columns=["file", "emotion"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"file": ["clips/unknown_01.wav", "./clips/unknown 02.wav"]}).to_csv(root / "test.csv", index=False)
    return names


def test_table_rows_without_labels_are_to_predict_and_labelled_rows_split_by_class(tmp_path):
    write_tables(tmp_path)
    settings = table_settings(split_fractions={"train": 0.6, "val": 0.2, "test": 0.2}, seed=3)
    labels, reasons = table.read_labels(tmp_path, settings)
    assert (reasons == "").all()
    predict = labels[labels["split"] == "predict"]
    assert list(predict["clip_id"]) == ["clips_unknown_01", "clips_unknown_02"] and list(predict["file"]) == ["clips/unknown_01.wav", "clips/unknown 02.wav"]
    counts = labels[labels["split"] != "predict"].groupby(["emotion", "split"]).size().unstack()
    assert counts.to_dict("index") == {c: {"test": 2, "train": 6, "val": 2} for c in ("angry", "happy", "sad")}
    again, _ = table.read_labels(tmp_path, settings)
    assert again.equals(labels)
    other, _ = table.read_labels(tmp_path, table_settings(split_fractions={"train": 0.6, "val": 0.2, "test": 0.2}, seed=4))
    assert not other["split"].equals(labels["split"])


def test_table_in_cp1252_or_with_a_byte_order_mark_is_read_as_its_text(tmp_path):
    (tmp_path / "a.csv").write_bytes("file,speaker\nclips/a.wav,Zoë’s\n".encode("cp1252"))
    (tmp_path / "b.csv").write_bytes("\ufefffile,speaker\nclips/b.wav,Zoë’s\n".encode("utf-8"))
    for name in ("a.csv", "b.csv"):
        assert table.read_table(tmp_path / name).to_dict("list") == {"file": [f"clips/{name[0]}.wav"], "speaker": ["Zoë’s"]}


def test_table_split_column_is_used_and_bad_values_are_reasons(tmp_path):
    rows = pd.DataFrame({"path": ["a.wav", "b.wav", "c.flac"], "label": [0.5, 0.25, 0.75], "fold": ["Train", "dev", "holdout"]})
    rows.to_csv(tmp_path / "all.tsv", sep="\t", index=False)
    settings = table_settings(files=["all.tsv"], path_column="path", label_columns=["label"], split_column="fold")
    labels, reasons = table.read_labels(tmp_path, settings)
    assert list(labels["split"]) == ["train", "val", "?holdout"] and list(reasons) == ["", "", "invalid split 'holdout': use train, val or test"]
    assert labels["label"].tolist() == [0.5, 0.25, 0.75]


def test_table_without_the_path_column_is_refused(tmp_path):
    pd.DataFrame({"name": ["a.wav"], "emotion": ["sad"]}).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"file": ["b.wav"]}).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(InputError, match=r"train.csv: no column 'file' naming the files"):
        table.read_labels(tmp_path, table_settings())


def test_table_files_on_disk_are_clips_by_extension(tmp_path):
    write_tables(tmp_path, n_per_class=1)
    for relpath in ("clips/happy_00.mp3", "clips/x.FLAC", "clips/readme.md", "clips/.hidden.wav"):
        touch(tmp_path / relpath)
    listing = kinds.listing("table", str(tmp_path), table_settings())
    assert [c.clip_id for c in listing.clips] == ["clips_happy_00", "clips_x"]
    assert sorted(s.reason.split(" (")[0] for s in listing.skipped) == ["not a clip: a hidden file", "not a clip: not a media file"]
    assert not kinds.has_video(listing.clips)


def test_table_regression_labels_are_split_at_random_in_fractions_that_need_not_sum_to_one(tmp_path):
    rows = pd.DataFrame({"file": [f"c{i:02d}.wav" for i in range(20)] + ["u.wav"], "score": [str(i / 20) for i in range(20)] + [""]})
    rows.to_csv(tmp_path / "all.csv", index=False)
    settings = table_settings(files=["all.csv"], label_columns=["score"], split_fractions={"train": 5, "val": 3, "test": 2}, seed=1)
    labels, _ = table.read_labels(tmp_path, settings)
    assert labels["score"].dtype == float and labels.loc[20, "split"] == "predict"  # numbers, the blank one to predict
    assert labels["split"].value_counts().to_dict() == {"train": 10, "val": 6, "test": 4, "predict": 1}  # test 2/10, val 3/8 of the rest


def test_table_classes_are_stratified_in_each_of_the_fractions(tmp_path):
    write_tables(tmp_path)
    labels, _ = table.read_labels(tmp_path, table_settings(split_fractions={"train": 5, "val": 3, "test": 2}, seed=2))
    counts = labels[labels["split"] != "predict"].groupby(["emotion", "split"]).size().unstack()
    assert counts.to_dict("index") == {c: {"test": 2, "train": 5, "val": 3} for c in ("angry", "happy", "sad")}


def test_table_with_a_byte_order_mark_backslashes_and_text_that_looks_missing(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbffile,emotion,speaker,fold\nclips\\Happy 01.wav,sad,NA,train\n")
    labels, _ = table.read_labels(tmp_path, table_settings(files=["t.csv"], split_column="fold"))
    assert labels[["clip_id", "file", "source", "speaker"]].values.tolist() == [["clips_Happy_01", "clips/Happy 01.wav", "t.csv", "NA"]]
    assert table.identify("", "clips/Happy 01.wav") == ("clips_Happy_01", "")


def test_table_errors_name_the_root_the_table_and_the_columns(tmp_path):
    with pytest.raises(InputError, match=r"dataset.root: .*nowhere is not a folder"):
        table.find(tmp_path / "nowhere", table_settings())
    write_tables(tmp_path)
    (tmp_path / "test.csv").unlink()
    with pytest.raises(InputError, match=r"dataset.table.files: .*/test.csv is missing"):
        table.find(tmp_path, table_settings())
    with pytest.raises(InputError, match=r"train.csv: no split column 'fold' \(dataset.table.split_column\); it has \['file', 'emotion'\]"):
        table.read_labels(tmp_path, table_settings(files=["train.csv"], split_column="fold"))
    (tmp_path / "bad.csv").write_bytes(b"file,emotion\na.wav,sad\nb.wav,sad,3,4\n")  # any bytes decode (cp1252): the rows do not parse
    with pytest.raises(InputError, match=r"bad.csv: not a readable table \(Error tokenizing data. C error: Expected 2 fields in line 3, saw 4"):
        table.read_table(tmp_path / "bad.csv")


def test_table_files_found_have_no_split_until_the_labels_give_one(tmp_path):
    write_tables(tmp_path, n_per_class=1)
    touch(tmp_path / "clips/happy_00.mp3")
    touch(tmp_path / "notes.txt")
    listing = kinds.listing("table", str(tmp_path), table_settings())
    assert [(c.clip_id, c.split) for c in listing.clips] == [("clips_happy_00", "")] and [s.split for s in listing.skipped] == [""]


def test_kinds_adapters_generators_and_video():
    with pytest.raises(InputError, match=r"dataset.kind: unknown kind 'avi'; choose one of chalearn, meld, table"):
        kinds.adapter("avi")
    assert kinds.generator("meld").__name__ == "impressions.data.synthetic_meld" and kinds.generator("table").__name__ == "impressions.data.synthetic_table"
    assert kinds.has_video([Clip("a", "train", "r/a.wav"), Clip("b", "train", "r/b.mp4")]) and not kinds.has_video([Clip("a", "train", "r/a.wav")])


def test_a_listing_of_given_files_reads_no_folder_and_keeps_each_files_split(tmp_path):
    found = [("train", "train/aaaaaaaaaaa.001.mp4"), ("val", "val/notes.txt")]
    listing = kinds.listing("chalearn", str(tmp_path / "not_there"), {}, found=found)
    assert [(c.clip_id, c.split) for c in listing.clips] == [("aaaaaaaaaaa.001", "train")]
    assert [(s.split, s.reason) for s in listing.skipped] == [("val", "not a clip: the chalearn layout's clips are .mp4 files")]
