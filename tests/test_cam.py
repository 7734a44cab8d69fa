"""Class activation maps: the map arithmetic, the identity, upsampling, ranking, profiles, figures."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from impressions import TRAITS
from impressions.cam.figures import gallery, profile_figure
from impressions.cam.maps import (
    CamView,
    activation_maps,
    band_centres_hz,
    clip_cam,
    feature_model,
    identity_error,
    localisation,
    normalise,
    output_weights,
    profiles,
    top_clips,
    upsample,
    view,
)
from impressions.cam.stage import envelope
from impressions.io.errors import InputError
from impressions.models.metrics import prediction_table
from impressions.models.registry import MODELS, build
from impressions.models.task import Task

CAM_MODELS = sorted(name for name, spec in MODELS.items() if spec.cam is not None)

SPECTROGRAM_PARAMS = {"summary_pool": 6, "vggish_front_end": {"hop_s": 0.01}}
RAWWAVE_PARAMS = {"sample_rate": 4000, "hop_length": 128, "n_fft": 256}
SHAPES = {"clip_cam_cnn": (96, 64), "summary_cam_cnn": (208, 64), "rawwav_cam_cnn": (405, 129)}
SMALL = {"clip_cam_cnn": {"filters": (4, 8)}, "summary_cam_cnn": {"filters": (4, 8)}, "rawwav_cam_cnn": {"filters": (4, 8)}}


def test_activation_maps_weight_each_feature_map_by_the_output_kernel():
    rng = np.random.default_rng(0)
    features, kernel = rng.normal(size=(2, 3, 4, 6)), rng.normal(size=(6, 5))
    expected = sum(features[..., k, np.newaxis] * kernel[k] for k in range(6))
    np.testing.assert_allclose(activation_maps(features, kernel), expected, atol=1e-12)


@pytest.mark.parametrize("n_outputs", [len(TRAITS), 7])
@pytest.mark.parametrize("name", CAM_MODELS)
def test_clip_cam_satisfies_the_identity_and_covers_the_input(name, n_outputs):
    """Five traits' scores, or seven classes' logits: each output's map averages to it."""
    model = build(name, seed=3, n_outputs=n_outputs, **SMALL[name])
    model.get_layer("outputs").set_weights([np.random.default_rng(1).normal(size=w.shape).astype(np.float32) for w in model.get_layer("outputs").get_weights()])
    kernel, bias = output_weights(model)
    instances = list(np.random.default_rng(2).normal(size=(3 if name == "clip_cam_cnn" else 1, *SHAPES[name])).astype(np.float32))
    cam_view = view(MODELS[name].cam, RAWWAVE_PARAMS if name == "rawwav_cam_cnn" else SPECTROGRAM_PARAMS)
    cam = clip_cam(feature_model(model), kernel, bias, instances, cam_view)
    assert cam.identity_error < 1e-5
    assert cam.small.shape[0] == len(instances) and cam.small.shape[-1] == n_outputs  # the maps before upsampling, per instance
    np.testing.assert_allclose(cam.outputs, model.predict(np.stack(instances), verbose=0).mean(axis=0), atol=1e-5)
    time = len(instances) * SHAPES[name][0]
    if cam_view.spectrogram:
        assert cam.display.shape == (time, 64) and cam.maps.shape == (time, 64, n_outputs)
        np.testing.assert_array_equal(cam.display[-SHAPES[name][0] :], instances[-1])  # patches laid along time
    else:
        assert cam.display.shape == SHAPES[name] and cam.maps.shape == (405, n_outputs)


def test_identity_error_measures_the_gap_to_the_outputs():
    maps = np.ones((2, 4, 3, 5))
    assert identity_error(maps, np.zeros(5), np.ones((2, 5))) == 0.0
    assert identity_error(maps, np.full(5, 0.5), np.ones((2, 5))) == pytest.approx(0.5)


def test_output_weights_refuse_a_sigmoid_output():
    with pytest.raises(InputError, match="output_activation: linear"):
        output_weights(build("summary_cam_cnn", output_activation="sigmoid", **SMALL["summary_cam_cnn"]))


def test_upsample_is_linear_with_half_pixel_centres_in_1d_and_separable_in_2d():
    ramp = np.array([0.0, 1.0])
    np.testing.assert_allclose(upsample(ramp.reshape(1, 2, 1), (4,))[0, :, 0], [0, 0.25, 0.75, 1])
    rows, cols = np.array([0.0, 2.0, 4.0]), np.array([1.0, 3.0])
    up = upsample(np.outer(rows, cols).reshape(1, 3, 2, 1), (6, 4))[0, :, :, 0]
    up_rows = upsample(rows.reshape(1, 3, 1), (6,))[0, :, 0]
    up_cols = upsample(cols.reshape(1, 2, 1), (4,))[0, :, 0]
    np.testing.assert_allclose(up, np.outer(up_rows, up_cols), atol=1e-5)
    np.testing.assert_allclose(upsample(np.full((2, 5, 3, 4), 7.0), (40, 24)), 7.0)


def _predictions(values, clip_ids=None):
    clip_ids = clip_ids or [f"c{i}" for i in range(len(values))]
    y = np.tile(np.asarray(values, float)[:, None], (1, len(TRAITS)))
    return prediction_table(clip_ids, y / 2, y).assign(split="test")


def test_top_clips_are_distinct_ranked_best_first_with_ties_by_clip_id():
    table = _predictions([0.2, 0.9, 0.5, 0.9, 0.1], ["e", "d", "c", "b", "a"])
    top = top_clips(table, "neuroticism", 3)
    assert list(top["clip_id"]) == ["b", "d", "c"] and list(top["prediction"]) == [0.9, 0.9, 0.5]
    assert list(top["label"]) == [0.45, 0.45, 0.25] and list(top.columns) == ["clip_id", "split", "prediction", "label"]
    assert len(top_clips(table, "openness", 20)) == 5
    with pytest.raises(ValueError, match="twice"):
        top_clips(pd.concat([table, table]), "openness", 3)


def test_top_clips_of_a_class_are_ranked_by_its_probability_with_the_true_class_as_label():
    task = Task("classification", ("emotion",), ("calm", "sad"))
    probabilities = np.array([[0.9, 0.1], [0.3, 0.7], [0.4, 0.6], [0.2, 0.8]])
    truth = np.eye(2)[[0, 1, 0, 1]]
    table = prediction_table(["a", "b", "c", "d"], truth, probabilities, task).assign(split="test")
    top = top_clips(table, "sad", 3, task)
    assert list(top["clip_id"]) == ["d", "b", "c"] and list(top["prediction"]) == [0.8, 0.7, 0.6]
    assert list(top["label"]) == ["sad", "sad", "calm"]


def test_normalise_scales_to_the_unit_interval_and_keeps_a_flat_map_flat():
    cam = np.array([[-2.0, 0.0], [2.0, 6.0]])
    np.testing.assert_allclose(normalise(cam), [[0, 0.25], [0.5, 1]])
    flat = normalise(np.full((3, 2), 4.0))
    assert flat.shape == (3, 2) and not flat.any()


def test_profiles_average_over_the_clips_present_at_each_time():
    long, short = np.ones((4, 2)), np.zeros((2, 2))
    result = profiles([long, short])
    np.testing.assert_allclose(result["mean_map"], [[0.5, 0.5], [0.5, 0.5], [1, 1], [1, 1]])
    np.testing.assert_allclose(result["time_profile"], [0.5, 0.5, 1, 1])
    np.testing.assert_allclose(result["band_profile"], [0.75, 0.75])
    one_d = profiles([np.arange(3.0)])
    assert set(one_d) == {"mean_map", "time_profile"}


BAND = {"low_hz": 1800.0, "high_hz": 2600.0, "start_s": 1.0, "end_s": 4.0, "trait": "neuroticism"}


def test_localisation_of_a_map_on_the_cue_is_all_inside_and_of_a_flat_map_is_the_share():
    frame_s = 0.06
    times = (np.arange(208) + 0.5) * frame_s
    in_time = (times >= 1) & (times < 4)
    centres = band_centres_hz()
    in_band = (centres >= 1800) & (centres <= 2600)
    on_cue = profiles([np.outer(in_time, in_band).astype(float)])
    result = localisation(on_cue, frame_s, BAND)
    assert result["band_mass"] == pytest.approx(1) and result["box_mass"] == pytest.approx(1) and result["time_mass"] == pytest.approx(1)
    assert result["peak_in_band"] and 1800 <= result["peak_band_hz"] <= 2600 and 1 <= result["peak_time_s"] < 4
    assert 1800 <= result["cue_peak_band_hz"] <= 2600
    assert result["band_share"] == pytest.approx(in_band.mean()) and 0 < result["band_share"] < 0.2
    flat = localisation(profiles([np.ones((208, 64))]), frame_s, BAND)
    assert flat["band_mass"] == pytest.approx(flat["band_share"]) and flat["box_mass"] == pytest.approx(flat["box_share"])
    assert flat["time_mass"] == pytest.approx(flat["time_share"]) == pytest.approx(in_time.mean())
    assert set(localisation(on_cue, frame_s, None)) == {"peak_time_s", "peak_band_hz"}
    low_all_clip = np.zeros((208, 64))
    low_all_clip[:, 5] = 1.0  # a cue over the whole clip in a low band (like pitch) ...
    low_all_clip[in_time] += 1.5 * in_band  # ... and a stronger but shorter one on the hidden cue
    both = localisation(profiles([low_all_clip]), frame_s, BAND)
    assert both["peak_band_hz"] < 500 and 1800 <= both["cue_peak_band_hz"] <= 2600 and not both["peak_in_band"]
    one_d = localisation(profiles([in_time.astype(float)]), frame_s, BAND)
    assert set(one_d) == {"peak_time_s", "time_mass", "time_share"} and one_d["time_mass"] == pytest.approx(1)


def test_localisation_takes_the_cue_from_its_start_to_before_its_end_and_its_edge_bands():
    centres = band_centres_hz()
    band = {"low_hz": centres[10], "high_hz": centres[20], "start_s": 1.5, "end_s": 3.5}
    cue = np.zeros((4, 64))  # frames centred at 0.5, 1.5, 2.5 and 3.5 s
    cue[1, 15] = 0.25  # all the mass on the cue, less than 1 in total
    result = localisation(profiles([cue]), 1.0, band)
    assert (result["time_share"], result["band_share"], result["box_share"]) == pytest.approx((2 / 4, 11 / 64, 2 * 11 / (4 * 64)))
    assert (result["time_mass"], result["band_mass"], result["box_mass"]) == pytest.approx((1, 1, 1))
    silent = localisation(profiles([np.zeros((4, 64))]), 1.0, band)
    assert all(np.isnan(silent[key]) for key in ("time_mass", "band_mass", "box_mass"))  # no mass to share


def test_views_time_each_model_from_its_cache_parameters():
    assert view(MODELS["clip_cam_cnn"].cam, SPECTROGRAM_PARAMS) == CamView(0.01, True)
    assert view(MODELS["summary_cam_cnn"].cam, SPECTROGRAM_PARAMS).frame_s == pytest.approx(0.06)
    assert view(MODELS["rawwav_cam_cnn"].cam, RAWWAVE_PARAMS) == CamView(0.032, False)


def test_envelope_is_the_rms_on_the_raw_wave_frames_padded_to_length(tmp_path):
    rate, amplitude = 16000, 0.5
    t = np.arange(rate * 2) / rate
    path = tmp_path / "tone.wav"
    sf.write(path, amplitude * np.sin(2 * np.pi * 500 * t), rate, subtype="FLOAT")
    rms = envelope(path, RAWWAVE_PARAMS, 80)
    frames = 1 + (2 * rate - 1024) // 512  # 1024-sample frames every 512 samples at 16 kHz
    assert rms.shape == (80,) and rms.dtype == np.float32
    np.testing.assert_allclose(rms[:frames], amplitude / np.sqrt(2), rtol=1e-3)
    np.testing.assert_array_equal(rms[frames:], 0.0)


def _entries(n, shape):
    rng = np.random.default_rng(0)
    return [
        {"clip_id": f"c{i}", "rank": i + 1, "prediction": 0.9 - i / 100, "label": 0.5, "display": rng.normal(size=shape), "cam": rng.uniform(size=shape)}
        for i in range(n)
    ]


def test_gallery_is_a_five_by_four_grid_best_first_with_labelled_axes():
    fig = gallery(_entries(20, (208, 64)), model="summary_cam_cnn", trait="neuroticism", splits="test", view=CamView(0.06, True), band=BAND)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 20 and panels[0].get_title().startswith("#1 c0") and panels[-1].get_title().startswith("#20 c19")
    assert fig.get_supxlabel() == "time (s)" and fig.get_supylabel() == "mel band centre (Hz)"
    assert panels[0].get_xlim() == pytest.approx((0, 208 * 0.06)) and len(panels[0].patches) == 1  # the cue's outline
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_binarised_gallery_shows_only_the_map_above_threshold():
    entries = _entries(3, (50, 64))
    fig = gallery(entries, model="summary_cam_cnn", trait="openness", splits="test", view=CamView(0.06, True), binarize=True, threshold=0.8)
    overlay = fig.axes[0].images[1].get_array()
    expected = entries[0]["cam"].T >= 0.8
    np.testing.assert_array_equal(~np.ma.getmaskarray(overlay) & np.isfinite(overlay.filled(np.nan)), expected)
    assert not any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert sum(ax.get_visible() and ax.axison for ax in fig.axes) == 3  # one row of four, the fourth hidden


def test_one_dimensional_gallery_draws_the_envelope_under_the_map():
    entries = _entries(2, (405,))
    fig = gallery(entries, model="rawwav_cam_cnn", trait="neuroticism", splits="test", view=CamView(0.032, False), band=BAND)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), entries[0]["display"])
    assert fig.get_supylabel() == "RMS amplitude of the waveform"


def test_profile_figure_has_band_and_time_panels_for_spectrograms_and_time_only_in_1d():
    maps = {t: profiles([np.random.default_rng(i).uniform(size=(100, 64))]) for i, t in enumerate(TRAITS)}
    fig = profile_figure(maps, model="summary_cam_cnn", view=CamView(0.06, True), band=BAND, band_trait="neuroticism")
    band_axes, time_axes = fig.axes
    assert band_axes.get_xlabel() == "mel band centre (Hz)" and time_axes.get_xlabel() == "time (s)"
    assert [line.get_label() for line in band_axes.lines] == list(TRAITS)
    np.testing.assert_allclose(band_axes.lines[1].get_ydata(), maps["neuroticism"]["band_profile"])
    assert band_axes.lines[1].get_linewidth() > band_axes.lines[0].get_linewidth()  # the cue's trait stands out
    one_d = {t: profiles([np.ones(405)]) for t in TRAITS}
    assert len(profile_figure(one_d, model="rawwav_cam_cnn", view=CamView(0.032, False)).axes) == 1
