"""The frames' colour and motion functionals, checked against colorsys and values worked out by hand,
and the linear models that read them (alone, with eGeMAPS, with text)."""

from __future__ import annotations

import colorsys
import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from impressions import SPLITS, TRAITS
from impressions.features.frame_functionals import FRAME_DESCRIPTORS, NAMES, frame_descriptors, frame_functionals, motion_energy
from impressions.io.cache import CacheReader, write_cache
from impressions.models import instances
from impressions.models.registry import MODELS, build
from impressions.models.sklearn_fit import train_sklearn


def uniform(rgb, *, frames: int = 1, height: int = 4, width: int = 6) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (frames, height, width, 3)).copy()


def descriptors_by_colorsys(frame: np.ndarray) -> list[float]:
    """One frame's descriptors pixel by pixel with the standard library's colorsys."""
    hsv = [colorsys.rgb_to_hsv(*(pixel / 255.0)) for pixel in frame.reshape(-1, 3).astype(float)]
    hue = [h for h, _, _ in hsv]
    saturation = [s for _, s, _ in hsv]
    value = [v for _, _, v in hsv]
    weight = sum(saturation)
    hue_cos = sum(s * math.cos(2 * math.pi * h) for h, s in zip(hue, saturation)) / weight if weight else 0.0
    hue_sin = sum(s * math.sin(2 * math.pi * h) for h, s in zip(hue, saturation)) / weight if weight else 0.0
    mean = sum(value) / len(value)
    contrast = math.sqrt(sum((v - mean) ** 2 for v in value) / len(value))
    channels = frame.reshape(-1, 3).astype(float).mean(axis=0) / 255.0
    return [hue_cos, hue_sin, sum(saturation) / len(saturation), mean, contrast, *channels]


def test_names_follow_the_descriptors_with_a_mean_and_a_sd_each():
    assert len(NAMES) == 2 * (len(FRAME_DESCRIPTORS) + 1) == 18
    assert NAMES[:4] == ("hue_cos_mean", "hue_cos_sd", "hue_sin_mean", "hue_sin_sd") and NAMES[-2:] == ("motion_mean", "motion_sd")


def test_descriptors_of_random_frames_equal_colorsys_pixel_by_pixel():
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 5, 7, 3), dtype=np.uint8)
    got = frame_descriptors(frames)
    assert got.shape == (3, len(FRAME_DESCRIPTORS)) and got.dtype == np.float32
    np.testing.assert_allclose(got, [descriptors_by_colorsys(frame) for frame in frames], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("rgb", "expected"),
    [
        ((255, 0, 0), [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]),  # red: hue 0 degrees
        ((0, 255, 0), [-0.5, math.sqrt(3) / 2, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]),  # green: 120 degrees
        ((0, 0, 102), [-0.5, -math.sqrt(3) / 2, 1.0, 0.4, 0.0, 0.0, 0.0, 0.4]),  # dark blue: 240 degrees
        ((128, 128, 128), [0.0, 0.0, 0.0, 128 / 255, 0.0, 128 / 255, 128 / 255, 128 / 255]),  # gray: no hue at all
    ],
)
def test_a_uniform_frame_has_its_colours_values(rgb, expected):
    np.testing.assert_allclose(frame_descriptors(uniform(rgb))[0], expected, rtol=0, atol=1e-6)


def test_hue_is_a_circular_mean_weighted_by_saturation():
    """Half the pixels at 350 degrees and half at 10 degrees average to 0 degrees, not 180; gray pixels
    (saturation 0) change nothing; half as saturated pixels count half."""
    frame = np.zeros((1, 2, 2, 3), np.uint8)
    frame[0, 0, 0] = (255, 0, 43)  # hue 349.9 degrees
    frame[0, 0, 1] = (255, 43, 0)  # hue 10.1 degrees
    frame[0, 1] = (90, 90, 90)  # gray
    hue_cos, hue_sin = frame_descriptors(frame)[0, :2]
    assert hue_sin == pytest.approx(0.0, abs=1e-6) and hue_cos == pytest.approx(math.cos(math.radians(43 / 255 * 60)), abs=1e-5)
    frame[0, 1] = (255, 127, 127)  # two red pixels at saturation 128/255
    hue_cos, _ = frame_descriptors(frame)[0, :2]
    half = 128 / 255
    expected = (2 * math.cos(math.radians(43 / 255 * 60)) + 2 * half) / (2 + 2 * half)
    assert hue_cos == pytest.approx(expected, abs=1e-5)


def test_a_frame_with_a_single_faintly_coloured_pixel_has_that_pixels_hue_at_full_length():
    """The weights are normalised by their sum however small it is: one pixel of saturation 2/130 on
    gray is a red frame (hue 0 degrees: (1, 0)), not a dimmed one."""
    frame = uniform((128, 128, 128), height=3, width=3)
    frame[0, 1, 1] = (130, 128, 128)
    np.testing.assert_allclose(frame_descriptors(frame)[0, :2], [1.0, 0.0], rtol=0, atol=1e-6)


def test_motion_is_the_mean_absolute_luma_change_between_consecutive_frames():
    """A white 3 x 3 square on black moves 2 pixels right, then stays: 2 columns of 3 pixels appear
    and 2 disappear, 12 of 10 x 10 pixels change by the white's luma (1.0), then none."""
    frames = np.zeros((3, 10, 10, 3), np.uint8)
    frames[0, 2:5, 2:5] = 255
    frames[1:, 2:5, 4:7] = 255
    np.testing.assert_allclose(motion_energy(frames), [12 / 100, 0.0], rtol=0, atol=1e-6)
    assert motion_energy(frames).dtype == np.float32
    red = np.zeros((2, 1, 1, 3), np.uint8)
    red[1, 0, 0, 0] = 255
    np.testing.assert_allclose(motion_energy(red), [0.299], rtol=0, atol=1e-6)  # ITU-R BT.601 weight of red


def test_functionals_are_the_mean_and_sd_over_frames_of_each_descriptor_then_of_motion():
    frames = np.random.default_rng(1).integers(0, 256, size=(6, 4, 5, 3), dtype=np.uint8)
    per_frame = np.array([descriptors_by_colorsys(frame) for frame in frames])
    luma = frames.astype(float) / 255 @ [0.299, 0.587, 0.114]
    motion = np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2))
    expected = np.column_stack([np.vstack([per_frame.mean(axis=0), per_frame.std(axis=0)]), [motion.mean(), motion.std()]]).T.reshape(-1)
    got = frame_functionals(frames)
    assert got.shape == (len(NAMES),) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_a_single_frame_has_no_motion_and_a_still_clip_no_spread():
    one = frame_functionals(uniform((200, 40, 10)))
    still = frame_functionals(uniform((200, 40, 10), frames=6))
    np.testing.assert_allclose(one, still, rtol=0, atol=1e-7)
    assert one[NAMES.index("motion_mean")] == 0 and one[NAMES.index("motion_sd")] == 0
    assert not one[1::2].any()  # every sd is 0
    assert one[NAMES.index("red_mean")] == pytest.approx(200 / 255)


@pytest.mark.parametrize("shape", [(0, 4, 4, 3), (4, 4, 3), (2, 4, 4, 4)])
def test_frames_of_another_shape_are_refused_with_the_shape(shape):
    with pytest.raises(ValueError, match=r"\(T >= 1, height, width, 3\).*" + re.escape(str(shape))):
        frame_functionals(np.zeros(shape, np.uint8))


def write_clip_caches(folder, clips, *, frames, egemaps, tfidf):
    write_cache(folder / "frames.h5", clips, {"frames": frames}, {})
    write_cache(folder / "egemaps.h5", clips, {"functionals": [v[np.newaxis] for v in egemaps]}, {})
    write_cache(folder / "text.h5", clips, {"tfidf": [v[np.newaxis] for v in tfidf]}, {})


def test_the_fusion_instances_put_audio_then_video_then_text_in_one_row(tmp_path):
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8) for _ in range(2)]
    egemaps, tfidf = rng.normal(size=(2, 88)).astype(np.float32), rng.random((2, 30)).astype(np.float32)
    write_clip_caches(tmp_path, ["a", "b"], frames=frames, egemaps=egemaps, tfidf=tfidf)
    with CacheReader(tmp_path / "frames.h5") as f, CacheReader(tmp_path / "egemaps.h5") as e, CacheReader(tmp_path / "text.h5") as t:
        readers = {"frames": f, "egemaps": e, "text": t}
        (video,) = instances.video_functionals(readers, "b", {})
        (audiovisual,) = instances.audiovisual_functionals(readers, "b", {})
        (row,) = instances.audiovisual_functionals_and_text(readers, "b", {})
    np.testing.assert_allclose(video, frame_functionals(frames[1]), rtol=0, atol=0)
    np.testing.assert_array_equal(audiovisual, np.concatenate([egemaps[1], video]))
    np.testing.assert_array_equal(row, np.concatenate([egemaps[1], video, tfidf[1]]))
    assert row.shape == (88 + 18 + 30,) and row.dtype == np.float32
    assert MODELS["video_linear"].families == ("frames",) and MODELS["audiovisual_linear"].families == ("egemaps", "frames")
    assert MODELS["audiovisual_text_linear"].families == ("egemaps", "frames", "text")


class Outputs:
    def __init__(self, folder):
        self.model, self.excluded = folder / "model.pkl", folder / "excluded.tsv"
        self.predictions = [folder / f"predictions_{s}.csv" for s in SPLITS]


def test_video_linear_learns_traits_from_the_colour_and_the_motion_of_the_frames(tmp_path):
    """Clips whose face colour and sway set the traits (as the synthetic generator does): the model
    must recover them from the frames alone, and leave out the clip without frames, saying why."""
    rng = np.random.default_rng(3)
    n = 120
    hue_deg, sway = rng.uniform(130, 210, n), rng.uniform(0, 4, n).round().astype(int)
    frames = []
    for h, s in zip(hue_deg, sway):
        clip = np.full((6, 16, 32, 3), 110, np.uint8)
        colour = np.array(colorsys.hsv_to_rgb(h / 360, 0.8, 0.9)) * 255
        for t in range(6):  # a face 8 pixels wide sways s pixels either side: 2 s columns change
            left = 12 + int(s * (-1) ** t)
            clip[t, 4:12, left : left + 8] = colour
        frames.append(clip)
    z_hue, z_sway = (hue_deg - hue_deg.mean()) / hue_deg.std(), (sway - sway.mean()) / sway.std()
    y = np.clip(0.5 + 0.1 * np.column_stack([z_hue, z_sway, z_hue + z_sway, -z_hue, z_sway - z_hue]) / np.sqrt([1, 1, 2, 1, 2]), 0, 1)
    clips = [f"c{i:03d}" for i in range(n)]
    rows = pd.DataFrame({"clip_id": clips, "split": ["train"] * 80 + ["val"] * 20 + ["test"] * 20, "shard": "000", **dict(zip(TRAITS, y.T))})
    write_cache(tmp_path / "000.h5", clips[1:], {"frames": frames[1:]}, {}, failed={clips[0]: "no video stream"})
    rows.to_csv(tmp_path / "manifest.tsv", sep="\t", index=False)
    outputs = Outputs(tmp_path)
    settings = {"alphas": [0.01, 0.1, 1.0], "clip_sd": 4.0, "C": 1.0}
    caches = {"frames": [str(tmp_path / "000.h5")]}
    train_sklearn("video_linear", manifest=tmp_path / "manifest.tsv", caches=caches, settings=settings, outputs=outputs, log=lambda _: None)
    excluded = pd.read_csv(outputs.excluded, sep="\t")
    assert list(excluded["clip_id"]) == [clips[0]] and excluded["reason"].iloc[0] == "frames: no video stream"
    test = pd.read_csv(outputs.predictions[2])
    assert r2_score(test[[f"{t}_true" for t in TRAITS]], test[[f"{t}_pred" for t in TRAITS]]) > 0.9


def test_the_fusion_pipeline_standardises_every_column_so_a_text_block_counts_like_the_functionals():
    """A class told only by one TF-IDF column of values near 0.05 (as L2-normalised rows give) beside
    functionals in Hz: the standardised, clipped logistic regression finds it."""
    rng = np.random.default_rng(4)
    labels = rng.integers(2, size=300)
    functionals = rng.normal(size=(300, 106)) * 10.0 ** rng.uniform(-2, 3, size=106)
    text = np.abs(rng.normal(scale=0.01, size=(300, 40)))
    text[:, 7] += 0.05 * labels
    x = np.hstack([functionals, text])
    pipeline = build("audiovisual_text_linear", C=1.0, classification=True).fit(x[:200], labels[:200])
    assert (pipeline.predict(x[200:]) == labels[200:]).mean() > 0.95
