"""How a clip's cached arrays become each model's instances and input shapes, and how a model's
splits are read and its predictions written: against the arrays written into the caches, numpy,
and tables worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impressions import TRAITS
from impressions.io.cache import CacheReader, write_cache
from impressions.models import instances
from impressions.models.inputs import PREDICT, ClipSource, _nbytes, clip_predictions, read_sources, stack, write_predictions
from impressions.models.task import Task

RNG = np.random.default_rng(0)
CLIPS = ["a", "b"]
ARRAYS = {
    "vggish": {"embeddings": [RNG.normal(size=(7, 128)).astype(np.float32), RNG.normal(size=(3, 128)).astype(np.float32)]},
    "rawwave": {"rawwave_fft": [RNG.normal(size=(20, 129)).astype(np.float32) for _ in CLIPS]},
    "egemaps": {"functionals": [RNG.normal(size=(1, 88)).astype(np.float32) for _ in CLIPS]},
    "text": {"tfidf": [RNG.random((1, 12)).astype(np.float32) for _ in CLIPS]},
    "mfcc": {
        "mfcc": [RNG.normal(size=(30, 24)).astype(np.float32), RNG.normal(size=(12, 24)).astype(np.float32)],
        "log_mel_db": [RNG.normal(size=(30, 128)).astype(np.float32), RNG.normal(size=(12, 128)).astype(np.float32)],
    },
    "frames": {"frames": [RNG.integers(0, 256, size=(6, 8, 10, 3), dtype=np.uint8) for _ in CLIPS]},
}


@pytest.fixture
def readers(tmp_path):
    opened = {}
    for family, arrays in ARRAYS.items():
        write_cache(tmp_path / f"{family}.h5", CLIPS, arrays, {})
        opened[family] = CacheReader(tmp_path / f"{family}.h5")
    yield opened
    for reader in opened.values():
        reader.close()


class NoEmbeddings:
    """A cache reader whose clip has no VGGish window (audio shorter than 0.96 s)."""

    def get(self, name, clip_id):
        return np.zeros((0, 128), np.float32)


def test_pooled_embeddings_are_the_mean_then_the_sd_over_time():
    embeddings = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    pooled = instances.pooled_embeddings(embeddings)
    np.testing.assert_array_equal(pooled, [2.0, 4.0, 1.0, 2.0])
    assert pooled.dtype == np.float32


def test_the_vggish_head_takes_the_first_seconds_flat_or_every_second_pooled(readers):
    first = ARRAYS["vggish"]["embeddings"][0]
    (flat,) = instances.first_embeddings(readers, "a", {"seconds": 5, "pooling": "flatten"})
    np.testing.assert_array_equal(flat, first[:5].reshape(-1))
    assert instances.first_embeddings(readers, "b", {"seconds": 5, "pooling": "flatten"}) == []  # 3 s < 5 s
    assert instances.first_embeddings({"vggish": NoEmbeddings()}, "x", {"seconds": 5, "pooling": "mean_std"}) == []  # nothing to pool
    (pooled,) = instances.first_embeddings(readers, "b", {"seconds": 5, "pooling": "mean_std"})
    second = ARRAYS["vggish"]["embeddings"][1]
    np.testing.assert_allclose(pooled, np.concatenate([second.mean(axis=0), second.std(axis=0)]), rtol=1e-6)


def test_windows_are_every_embedding_and_the_single_inputs_are_the_cached_arrays(readers):
    windows = instances.windows(readers, "a", {})
    assert len(windows) == 7 and all(np.array_equal(w, e) for w, e in zip(windows, ARRAYS["vggish"]["embeddings"][0]))
    (rawwave,) = instances.rawwave(readers, "b", {})
    np.testing.assert_array_equal(rawwave, ARRAYS["rawwave"]["rawwave_fft"][1])
    (egemaps,) = instances.egemaps_functionals(readers, "b", {})
    np.testing.assert_array_equal(egemaps, ARRAYS["egemaps"]["functionals"][1][0])
    (text,) = instances.text_vector(readers, "a", {})
    np.testing.assert_array_equal(text, ARRAYS["text"]["tfidf"][0][0])
    assert egemaps.shape == (88,) and text.shape == (12,)
    assert instances.no_instances(readers, "a", {}) == []


def test_the_fusion_instance_is_the_padded_mfcc_tensor_and_the_frames_and_with_text_the_tfidf(readers):
    (instance,) = instances.mfcc_and_frames(readers, "b", {"mfcc_length": 20})
    mfcc = ARRAYS["mfcc"]["mfcc"][1]
    expected = np.zeros((20, 24), np.float32)
    expected[8:] = (mfcc - mfcc.mean()) / (mfcc.std() + 1e-8)  # 12 frames pre-padded to 20
    np.testing.assert_allclose(instance["mfcc"], expected.T[..., np.newaxis], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(instance["frames"], ARRAYS["frames"]["frames"][1])
    (with_text,) = instances.mfcc_frames_and_text(readers, "b", {"mfcc_length": 20})
    assert sorted(with_text) == ["frames", "mfcc", "text"]
    np.testing.assert_array_equal(with_text["mfcc"], instance["mfcc"])
    np.testing.assert_array_equal(with_text["text"], ARRAYS["text"]["tfidf"][1][0])
    (other,) = instances.mfcc_and_frames(readers, "a", {"mfcc_length": 20, "audio_input": "mfcc"})
    assert other["mfcc"].shape == (24, 20, 1)  # 30 frames cut to the last 20
    (log_mel,) = instances.mfcc_and_frames(readers, "a", {"mfcc_length": 30, "audio_input": "log_mel_db"})
    spectrum = ARRAYS["mfcc"]["log_mel_db"][0]
    np.testing.assert_allclose(log_mel["mfcc"][..., 0], ((spectrum - spectrum.mean()) / spectrum.std()).T, rtol=1e-4, atol=1e-5)


def test_input_shapes_name_the_builders_arguments():
    assert instances.no_shapes(np.zeros(3)) == {}
    assert instances.flat_input(np.zeros(640)) == {"input_dim": 640}
    assert instances.spectrogram_input(np.zeros((96, 64))) == {"frames": 96, "bands": 64}
    assert instances.rawwave_input(np.zeros((405, 129))) == {"frames": 405, "bins": 129}
    fusion = {"mfcc": np.zeros((24, 188, 1)), "frames": np.zeros((6, 72, 128, 3))}
    assert instances.fusion_inputs(fusion) == {"mfcc_shape": (24, 188, 1), "frames_shape": (6, 72, 128, 3)}
    assert instances.fusion_inputs({**fusion, "text": np.zeros(300)}) == {"mfcc_shape": (24, 188, 1), "frames_shape": (6, 72, 128, 3), "text_dim": 300}


def test_seconds_per_time_step_of_each_cam_layout():
    params = {"vggish_front_end": {"hop_s": 0.01}, "summary_pool": 6, "hop_length": 128, "sample_rate": 4000}
    assert instances.patch_frame_s(params) == 0.01
    assert instances.summary_frame_s(params) == pytest.approx(0.06)
    assert instances.rawwave_frame_s(params) == 0.032


class Outputs:
    def __init__(self, folder, with_predict=True):
        self.excluded = folder / "excluded.tsv"
        self.predictions = [folder / f"predictions_{split}.csv" for split in ("train", "val", "test")]
        if with_predict:
            self.predict = folder / "predictions_predict.csv"


def manifest(tmp_path) -> str:
    """Six clips over two shards: two per split, the last test clip missing from the egemaps cache, and one unlabelled clip."""
    rows = pd.DataFrame(
        {
            "clip_id": ["t0", "t1", "v0", "v1", "s0", "s1", "u0"],
            "split": ["train", "train", "val", "val", "test", "test", PREDICT],
            "shard": ["000", "001", "000", "001", "000", "001", "000"],
            **{trait: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, np.nan] for trait in TRAITS},
        }
    )
    for shard, group in rows.groupby("shard"):
        present = [clip for clip in group["clip_id"] if clip != "s1"]
        write_cache(tmp_path / f"{shard}.h5", present, {"functionals": [np.full((1, 88), float(ord(c[0]) + int(c[1])), np.float32) for c in present]}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    return str(tmp_path / "manifest.tsv")


def test_read_sources_gives_each_split_and_the_unlabelled_clips_their_rows_and_shards(tmp_path):
    sources = read_sources("egemaps_linear", manifest(tmp_path), {"egemaps": [str(tmp_path / "000.h5"), str(tmp_path / "001.h5")]}, {})
    assert list(sources) == ["train", "val", "test", PREDICT]
    assert {split: list(source.rows["clip_id"]) for split, source in sources.items()} == {
        "train": ["t0", "t1"],
        "val": ["v0", "v1"],
        "test": ["s0", "s1"],
        PREDICT: ["u0"],
    }
    np.testing.assert_allclose(sources["val"].targets(), [[0.3] * 5, [0.4] * 5])
    clips = dict(sources["test"].clips())
    assert float(clips[0][0][0]) == ord("s") + 0 and clips[1] == []
    assert sources["test"].missing == {"s1": "egemaps: not in the cache"}
    assert sources[PREDICT].rejected.empty  # unlabelled clips are not checked for labels


def test_write_predictions_scales_back_and_writes_every_split_and_the_unlabelled_clips(tmp_path):
    sources = read_sources("egemaps_linear", manifest(tmp_path), {"egemaps": [str(tmp_path / "000.h5"), str(tmp_path / "001.h5")]}, {})
    excluded = pd.concat([source.excluded() for source in sources.values()], ignore_index=True)
    lines = []
    outputs = Outputs(tmp_path)
    write_predictions(outputs, sources, lambda batch: batch[:, :5] / 1000.0, excluded, back=lambda y: y * 2.0, log=lines.append)
    assert pd.read_csv(outputs.excluded, sep="\t").to_dict("records") == [{"clip_id": "s1", "split": "test", "reason": "egemaps: not in the cache"}]
    test = pd.read_csv(outputs.predictions[2])
    assert list(test["clip_id"]) == ["s0"] and list(test.columns) == ["clip_id", *[f"{t}_true" for t in TRAITS], *[f"{t}_pred" for t in TRAITS]]
    np.testing.assert_allclose(test[[f"{t}_true" for t in TRAITS]].to_numpy(), [[0.5] * 5])
    np.testing.assert_allclose(test[[f"{t}_pred" for t in TRAITS]].to_numpy(), [[2.0 * ord("s") / 1000.0] * 5], atol=1e-6)
    train = pd.read_csv(outputs.predictions[0])
    np.testing.assert_allclose(train[f"{TRAITS[0]}_pred"], [2.0 * (ord("t") + 0) / 1000.0, 2.0 * (ord("t") + 1) / 1000.0], atol=1e-6)
    unlabelled = pd.read_csv(outputs.predict)
    assert list(unlabelled.columns) == ["clip_id", *[f"{t}_pred" for t in TRAITS]] and list(unlabelled["clip_id"]) == ["u0"]
    np.testing.assert_allclose(unlabelled[f"{TRAITS[0]}_pred"], [2.0 * ord("u") / 1000.0], atol=1e-6)
    assert lines == [
        "excluded s1 (test): egemaps: not in the cache",
        "train: predicted 2 clips",
        "val: predicted 2 clips",
        "test: predicted 1 clips",
        "predict: predicted 1 unlabelled clips",
    ]


def test_write_predictions_of_a_classification_task_and_without_an_unlabelled_output(tmp_path):
    rows = pd.DataFrame({"clip_id": ["a", "b", "c"], "split": ["train", "val", "test"], "shard": "000", "emotion": ["joy", "anger", "joy"]})
    write_cache(tmp_path / "000.h5", ["a", "b", "c"], {"functionals": [np.full((1, 88), v, np.float32) for v in (0.0, 1.0, 2.0)]}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    task = Task("classification", ("emotion",), ("anger", "joy"), metric="weighted_f1", class_weights="none")
    sources = read_sources("egemaps_linear", tmp_path / "manifest.tsv", {"egemaps": [str(tmp_path / "000.h5")]}, {}, task)
    outputs = Outputs(tmp_path, with_predict=False)

    def probabilities(batch):
        joy = batch[:, :1] / 2.0  # clip c: 1.0
        return np.hstack([1.0 - joy, joy])

    write_predictions(outputs, sources, probabilities, pd.DataFrame(columns=["clip_id", "split", "reason"]), log=lambda _: None)
    val, test = pd.read_csv(outputs.predictions[1]), pd.read_csv(outputs.predictions[2])
    assert val.to_dict("records") == [
        {"clip_id": "b", "emotion_true": "anger", "emotion_pred": "anger", "p_anger": 0.5, "p_joy": 0.5}
    ]  # a tie: the first class
    assert test.to_dict("records") == [{"clip_id": "c", "emotion_true": "joy", "emotion_pred": "joy", "p_anger": 0.0, "p_joy": 1.0}]
    assert not (tmp_path / "predictions_predict.csv").exists()


def test_an_unlabelled_clip_of_a_classification_task_is_predicted_not_rejected(tmp_path):
    rows = pd.DataFrame({"clip_id": ["a", "b", "c", "u"], "split": ["train", "val", "test", PREDICT], "shard": "000", "emotion": ["joy", "anger", "nope", ""]})
    write_cache(tmp_path / "000.h5", list(rows["clip_id"]), {"functionals": [np.full((1, 88), v, np.float32) for v in (0.0, 1.0, 2.0, 2.0)]}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    task = Task("classification", ("emotion",), ("anger", "joy"), metric="weighted_f1", class_weights="none")
    sources = read_sources("egemaps_linear", tmp_path / "manifest.tsv", {"egemaps": [str(tmp_path / "000.h5")]}, {}, task)
    assert list(sources[PREDICT].rows["clip_id"]) == ["u"] and sources[PREDICT].rejected.empty
    rejected = sources["test"].rejected
    assert list(rejected.columns) == ["clip_id", "split", "reason"] and list(rejected["clip_id"]) == ["c"]
    assert rejected["reason"].iloc[0] == "emotion 'nope' is not one of the task's classes ['anger', 'joy']"
    assert list(sources["test"].rows.columns) == list(rows.columns) and sources["test"].rows.empty  # no index column left behind
    outputs = Outputs(tmp_path)
    write_predictions(outputs, sources, lambda batch: np.hstack([1.0 - batch[:, :1] / 4.0, batch[:, :1] / 4.0]), sources["test"].excluded(), log=lambda _: None)
    unlabelled = pd.read_csv(outputs.predict)
    assert unlabelled.to_dict("records") == [{"clip_id": "u", "emotion_pred": "anger", "p_anger": 0.5, "p_joy": 0.5}]


def test_a_clip_source_made_directly_checks_its_labels_and_counts_what_it_reads(tmp_path):
    rows = pd.DataFrame({"clip_id": ["a", "b"], "split": "train", "shard": "000", "emotion": ["joy", "nope"]})
    write_cache(tmp_path / "000.h5", ["a", "b"], {"functionals": [np.zeros((1, 88), np.float32)] * 2}, {})
    task = Task("classification", ("emotion",), ("anger", "joy"), metric="weighted_f1", class_weights="none")
    source = ClipSource("egemaps_linear", rows, {"egemaps": {"000": tmp_path / "000.h5"}}, {}, task)
    assert list(source.rows["clip_id"]) == ["a"] and list(source.rejected["clip_id"]) == ["b"] and source.reads == 0
    assert [len(instances) for _, instances in source.clips()] == [1] and source.reads == 1


def rawwave_source(tmp_path, n_clips: int, *, memory_mb: float) -> ClipSource:
    """Clips of one 256 KiB instance each (512 x 128 float32)."""
    clips = [f"c{i}" for i in range(n_clips)]
    write_cache(tmp_path / "000.h5", clips, {"rawwave_fft": [np.full((512, 128), i, np.float32) for i in range(n_clips)]}, {})
    rows = pd.DataFrame({"clip_id": clips, "split": "train", "shard": "000", **{t: 0.5 for t in TRAITS}})
    return ClipSource("rawwav_cam_cnn", rows, {"rawwave": {"000": tmp_path / "000.h5"}}, {}, memory_mb=memory_mb)


def test_a_split_is_kept_in_memory_only_when_its_instances_fit_in_memory_mb_mebibytes(tmp_path):
    fits, too_big = rawwave_source(tmp_path, 4, memory_mb=1.0), rawwave_source(tmp_path, 4, memory_mb=0.75)  # 4 x 256 KiB = 1 MiB
    for source in (fits, too_big):
        list(source.clips())
    assert fits.kept is not None and too_big.kept is None


def test_read_sources_passes_the_settings_and_the_memory_limit_to_every_split(tmp_path):
    rows = pd.DataFrame({"clip_id": ["a", "u"], "split": ["train", PREDICT], "shard": "000", **{t: [0.5, np.nan] for t in TRAITS}})
    embeddings = [np.arange(3 * 128, dtype=np.float32).reshape(3, 128), np.ones((3, 128), np.float32)]
    write_cache(tmp_path / "000.h5", ["a", "u"], {"embeddings": embeddings}, {})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    settings = {"seconds": 2, "pooling": "flatten"}
    sources = read_sources("vggish_head", tmp_path / "manifest.tsv", {"vggish": [str(tmp_path / "000.h5")]}, settings, memory_mb=1e-6)
    for split, expected in (("train", embeddings[0]), (PREDICT, embeddings[1])):
        (instance,) = dict(sources[split].clips())[0]
        np.testing.assert_array_equal(instance, expected[:2].reshape(-1))
        assert sources[split].kept is None  # 1 KiB of instances: more than 1e-6 MB


def test_stack_stacks_arrays_and_each_input_of_dict_instances(tmp_path):
    one = {"mfcc": np.ones((2, 3), np.float32), "frames": np.zeros((4,), np.uint8)}
    stacked = stack([one])
    assert {key: value.shape for key, value in stacked.items()} == {"mfcc": (1, 2, 3), "frames": (1, 4)}
    two = stack([one, {"mfcc": np.full((2, 3), 2.0, np.float32), "frames": np.ones((4,), np.uint8)}])
    np.testing.assert_array_equal(two["mfcc"][:, 0, 0], [1.0, 2.0])
    np.testing.assert_array_equal(stack([np.zeros(3), np.ones(3)]), [[0, 0, 0], [1, 1, 1]])
    assert _nbytes(one) == 2 * 3 * 4 + 4 and _nbytes(np.zeros(5, np.float64)) == 40


def test_clip_predictions_fill_batches_up_to_their_size_skip_clips_without_instances_and_average_each_clip(tmp_path):
    """Clips of two instances each, the second without any: batches of 4 take two whole clips; a clip
    is never split; the clips after an empty one are predicted; each clip is the mean of its own instances."""
    clips = [f"c{i}" for i in range(7)]
    patches = [np.full((2, 512, 128), i, np.float32) for i in range(7)]
    write_cache(tmp_path / "000.h5", clips, {"rawwave_fft": [p[0] for p in patches]}, {})
    rows = pd.DataFrame({"clip_id": clips, "split": "train", "shard": "000", **{t: 0.5 for t in TRAITS}})
    source = ClipSource("rawwav_cam_cnn", rows, {"rawwave": {"000": tmp_path / "000.h5"}}, {})
    source.kept = [[np.full(3, i, np.float32), np.full(3, i + 0.5, np.float32)] if i != 1 else [] for i in range(7)]
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return np.repeat(batch[:, :1], 5, axis=1)

    clip_ids, predicted = clip_predictions(source, predict, batch_size=4)
    assert clip_ids == ["c0", "c2", "c3", "c4", "c5", "c6"] and calls == [4, 4, 4]
    np.testing.assert_allclose(predicted[:, 0], [0.25, 2.25, 3.25, 4.25, 5.25, 6.25])
    assert predicted.dtype == np.float32 and predicted.shape == (6, 5)
    source.kept = [[np.full(3, i, np.float32)] for i in range(7)]
    calls.clear()
    clip_predictions(source, predict)
    assert calls == [7]  # the default batch: 256 instances
    source.kept = [[np.full(3, 0.0, np.float32)]] * 300
    source.rows = pd.concat([rows] * 43, ignore_index=True).iloc[:300]
    calls.clear()
    clip_predictions(source, predict)
    assert calls == [256, 44]
    source.kept = [[] for _ in range(300)]
    empty_ids, empty = clip_predictions(source, predict)
    assert empty_ids == [] and empty.shape == (0, 5) and empty.dtype == np.float32


def test_predictions_are_written_to_six_decimals(tmp_path):
    sources = read_sources("egemaps_linear", manifest(tmp_path), {"egemaps": [str(tmp_path / "000.h5"), str(tmp_path / "001.h5")]}, {})
    outputs = Outputs(tmp_path)
    write_predictions(outputs, sources, lambda batch: np.full((len(batch), 5), 1 / 3), pd.DataFrame(columns=["clip_id", "split", "reason"]), log=lambda _: None)
    for path in (*outputs.predictions, outputs.predict):
        text = path.read_text()
        assert "0.333333" in text and "0.3333333" not in text and text.startswith("clip_id,")
