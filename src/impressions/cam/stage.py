"""The cam stage: a trained CAM model's maps for each output's top clips, to HDF5, JSON and PNG.

An output is a trait (regression: its top clips by predicted score) or a class (classification:
by predicted probability; its maps are of the class's logit, for which the CAM identity holds).

HDF5 layout of ``cams.h5`` (one file per model)::

    <output>/                   attrs: clips (best first); datasets: mean_map, time_profile and
                                (spectrograms) band_profile, from `impressions.cam.maps.profiles`
        <clip_id>/              attrs: rank, split, prediction, label, model_output
            input               the model input laid out in time: (time, bands) log-mel, or
                                (time, bins) raw-wave FFT
            cam                 the map upsampled to `input`'s time (and band) axes, model output units
            cam_small           the map at the conv block's resolution (instances stacked)
            envelope            (raw-wave model) RMS of the waveform on the input's frames
    inputs/<clip_id>            each clip's input once; <trait>/<clip_id>/input links to it
    attrs["params"]             JSON: model, settings, seconds per frame, band centres, the
                                largest CAM-identity error, units
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import librosa
import numpy as np
import pandas as pd

from impressions import SPLITS, __version__
from impressions.cam.figures import gallery, profile_figure
from impressions.cam.maps import ClipCam, band_centres_hz, clip_cam, feature_model, localisation, normalise, output_weights, profiles, top_clips, view
from impressions.data.clips import read_manifest
from impressions.io.atomic import atomic_path, write_json
from impressions.io.cache import CacheReader
from impressions.io.tf_runtime import use_threads
from impressions.io.wav import read_wav
from impressions.models import registry
from impressions.models.inputs import ClipSource
from impressions.models.saved import load_model
from impressions.models.task import FIRST_IMPRESSIONS, Task
from impressions.report.plots import save

IDENTITY_TOLERANCE = {"float32": 1e-4, "float16": 2e-2}
"""Largest |mean CAM + bias - output| accepted, by the output layer's compute dtype."""


def envelope(wav: str | os.PathLike, params: dict, frames: int) -> np.ndarray:
    """RMS of the 16 kHz waveform on the raw-wave features' frames (same window, same hop)."""
    y, rate = read_wav(wav)
    ratio = rate / params["sample_rate"]
    length, hop = int(params["n_fft"] * ratio), int(params["hop_length"] * ratio)
    if len(y) < length:
        y = np.pad(y, (0, length - len(y)))
    rms = librosa.feature.rms(y=y, frame_length=length, hop_length=hop, center=False)[0][:frames]
    return np.pad(rms, (0, frames - len(rms))).astype(np.float32)


def ranked_predictions(prediction_files: dict[str, str], splits: list[str]) -> pd.DataFrame:
    tables = [pd.read_csv(prediction_files[split]).assign(split=split) for split in splits]
    return pd.concat(tables, ignore_index=True)


def write_cams(
    name: str,
    *,
    model_path: str | os.PathLike,
    manifest: str | os.PathLike,
    caches: list[str],
    predictions: list[str],
    wav_dirs: list[str],
    settings: dict,
    cam_settings: dict,
    ground_truth: dict | None,
    outputs,
    threads: int = 1,
    task: Task = FIRST_IMPRESSIONS,
    log=print,
) -> dict:
    """Compute, check and write one CAM model's maps; return the localisation results.

    Parameters
    ----------
    caches : the shard files of the cache family the model reads
    predictions : the model's predictions tables, one per split in SPLITS order
    wav_dirs : the per-shard wav folders (the raw-wave model's envelopes come from them; else empty)
    settings : the model's config section (what its instances need)
    cam_settings : config ``cam``: ``splits``, ``top_k``, ``binarize``, ``threshold``
    outputs : ``maps`` (h5), ``localisation`` (json), ``profiles`` (png) and ``galleries`` (a folder
        of <trait or class>.png)
    """
    use_threads(threads)
    spec = registry.spec(name)
    (family,) = spec.families
    by_shard = {Path(p).stem: p for p in caches}
    with CacheReader(caches[0]) as reader:
        cache_params = reader.params
    cam_view = view(spec.cam, cache_params)
    model = load_model(name, model_path)
    kernel, bias = output_weights(model)
    tolerance = IDENTITY_TOLERANCE[model.get_layer("outputs").dtype_policy.compute_dtype]
    cam_model = feature_model(model)

    Path(outputs.galleries).mkdir(parents=True, exist_ok=True)
    ranked = ranked_predictions(dict(zip(SPLITS, predictions)), cam_settings["splits"])
    tops = {output: top_clips(ranked, output, cam_settings["top_k"], task) for output in task.outputs}
    wanted = sorted({clip for top in tops.values() for clip in top["clip_id"]})
    rows = read_manifest(manifest).set_index("clip_id").loc[wanted].reset_index()
    per = "class" if task.classification else "trait"
    log(
        f"{name}: maps of {len(wanted)} distinct clips, the top {cam_settings['top_k']} per {per} of {', '.join(cam_settings['splits'])} "
        f"({len(ranked)} clips ranked); {cam_view.frame_s * 1000:g} ms per frame"
    )

    wav_by_shard = {Path(d).name: Path(d) for d in wav_dirs}
    cams: dict[str, ClipCam] = {}
    envelopes: dict[str, np.ndarray] = {}
    source = ClipSource(name, rows, {family: by_shard}, settings, task)
    for count, (index, instances) in enumerate(source.clips(), 1):
        clip_id, shard = rows.loc[index, "clip_id"], rows.loc[index, "shard"]
        cams[clip_id] = clip_cam(cam_model, kernel, bias, instances, cam_view)
        if not cam_view.spectrogram:
            envelopes[clip_id] = envelope(wav_by_shard[shard] / f"{clip_id}.wav", cache_params, len(cams[clip_id].display))
        if count % 10 == 0 or count == len(rows):
            log(f"maps of {count}/{len(rows)} clips")
    worst = max(c.identity_error for c in cams.values())
    log(f"CAM identity (mean CAM + bias = output) holds to {worst:.2e} (tolerance {tolerance:g})")
    if worst > tolerance:
        raise ValueError(f"{name}: the CAM identity is off by {worst:.3g} > {tolerance:g}; the maps do not explain the outputs")

    band = (ground_truth or {}).get("model", {}).get("hidden_band")
    results, trait_profiles = {}, {}
    for t, trait in enumerate(task.outputs):
        normalised = [normalise(cams[clip].maps[..., t]) for clip in tops[trait]["clip_id"]]
        trait_profiles[trait] = profiles(normalised)
        results[trait] = localisation(trait_profiles[trait], cam_view.frame_s, band)
        entries = [
            {
                "clip_id": row.clip_id,
                "rank": rank,
                "prediction": row.prediction,
                "label": row.label,
                "display": cams[row.clip_id].display if cam_view.spectrogram else envelopes[row.clip_id],
                "cam": cam,
            }
            for rank, (row, cam) in enumerate(zip(tops[trait].itertuples(), normalised), 1)
        ]
        shown_band = band if band is not None and band["trait"] == trait else None
        save(
            gallery(
                entries,
                model=name,
                trait=trait,
                splits="+".join(cam_settings["splits"]),
                view=cam_view,
                band=shown_band,
                binarize=cam_settings["binarize"],
                threshold=cam_settings["threshold"],
            ),
            Path(outputs.galleries) / f"{trait}.png",
        )
        figures = ", ".join(f"{k}={v:.3g}" for k, v in results[trait].items())
        log(f"{trait}: top clip {entries[0]['clip_id']} (predicted {entries[0]['prediction']:.3f}); {figures}")
    save(profile_figure(trait_profiles, model=name, view=cam_view, band=band, band_trait=band and band["trait"]), outputs.profiles)

    _write_h5(
        outputs.maps,
        tops,
        cams,
        envelopes,
        trait_profiles,
        {
            "model": name,
            "settings": settings,
            "cam": cam_settings,
            "seconds_per_frame": cam_view.frame_s,
            "band_centres_hz": band_centres_hz().round(1).tolist() if cam_view.spectrogram else None,
            "identity_max_abs_error": worst,
            "units": "class logits" if task.classification else "model output units (standardised scores if the model was trained on them)",
            "version": __version__,
        },
    )
    summary = {
        "model": name,
        "splits": cam_settings["splits"],
        "top_k": cam_settings["top_k"],
        "hidden_band": band,
        "identity_max_abs_error": worst,
        "traits": results,
    }
    write_json(outputs.localisation, summary)
    return summary


def _write_h5(path, tops, cams, envelopes, trait_profiles, params) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as h5:
        h5.attrs["params"] = json.dumps(params, sort_keys=True)
        inputs = h5.create_group("inputs")
        for t, trait in enumerate(tops):
            group = h5.create_group(trait)
            group.attrs["clips"] = list(tops[trait]["clip_id"])
            for key, value in trait_profiles[trait].items():
                group.create_dataset(key, data=value.astype(np.float32), track_times=False)
            for rank, row in enumerate(tops[trait].itertuples(), 1):
                cam = cams[row.clip_id]
                clip = group.create_group(row.clip_id)
                clip.attrs.update({"rank": rank, "split": row.split, "prediction": row.prediction, "label": row.label, "model_output": float(cam.outputs[t])})
                if row.clip_id not in inputs:
                    inputs.create_dataset(row.clip_id, data=cam.display.astype(np.float32), compression="gzip", track_times=False)
                clip["input"] = inputs[row.clip_id]  # a hard link: each clip's input is stored once
                clip.create_dataset("cam", data=cam.maps[..., t].astype(np.float32), compression="gzip", track_times=False)
                clip.create_dataset("cam_small", data=cam.small[..., t].astype(np.float32), track_times=False)
                if row.clip_id in envelopes:
                    clip.create_dataset("envelope", data=envelopes[row.clip_id], track_times=False)
