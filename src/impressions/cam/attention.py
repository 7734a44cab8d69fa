"""The attention stage: where in time a sequence model looked, for each output's top clips.

For each output (a trait, or a class) the top clips of the ``cam.splits`` by predicted score (as
for the CAM galleries), their attention weights over time (the pooling layer its registry entry
names), and the time of the peak. On a synthetic dataset whose clips have a planted moment (the
MELD-layout set: the cue word and the voice change together, `ground_truth.json` ``cue``) it
also says whether the peak is within ``tolerance_s`` of it.

``attention.json``::

    {"model", "layer", "tolerance_s", "splits",
     "outputs": {<output>: {"clips": [{"clip_id", "split", "rank", "prediction", "label",
                                       "peak_s", "planted_s" (null without one), "within"}],
                            "planted", "within", "share"}},
     "planted", "within", "share"}           # over every output's top clips with a planted moment

``galleries/<output>.png``: each top clip's weights over time, the peak marked, the planted moment dashed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from impressions import SPLITS  # noqa: E402
from impressions.cam.figures import COLUMNS  # noqa: E402
from impressions.cam.maps import top_clips  # noqa: E402
from impressions.cam.stage import ranked_predictions  # noqa: E402
from impressions.data.clips import read_manifest  # noqa: E402
from impressions.io.atomic import atomic_path, write_json  # noqa: E402
from impressions.io.cache import CacheReader  # noqa: E402
from impressions.io.tf_runtime import use_threads  # noqa: E402
from impressions.models import registry  # noqa: E402
from impressions.models.inputs import ClipSource  # noqa: E402
from impressions.models.saved import load_model  # noqa: E402
from impressions.models.task import FIRST_IMPRESSIONS, Task  # noqa: E402


def planted_moment(ground_truth: dict | None, clip_id: str) -> float | None:
    """The time of a clip's planted moment (its cue word and voice change together), or None."""
    cue = ((ground_truth or {}).get("clips", {}).get(clip_id) or {}).get("cue")
    return float(cue["change_s"]) if cue and cue["together"] else None


def peak_time(weights: np.ndarray, times: np.ndarray, mask: np.ndarray) -> float:
    """The time of the largest weight among the real (unmasked) elements."""
    real = np.flatnonzero(mask)
    return float(times[real[np.argmax(weights[real])]])


def share_within(entries: list[dict]) -> dict:
    """How many entries have a planted moment, how many peak within the tolerance of it, and the share."""
    planted = [entry for entry in entries if entry["planted_s"] is not None]
    within = sum(entry["within"] for entry in planted)
    return {"planted": len(planted), "within": within, "share": within / len(planted) if planted else None}


def write_attention(
    name: str,
    *,
    model_path: str | os.PathLike,
    manifest: str | os.PathLike,
    caches: dict[str, list[str]],
    predictions: list[str],
    settings: dict,
    cam_settings: dict,
    ground_truth: dict | None,
    outputs,
    tolerance_s: float = 0.5,
    threads: int = 1,
    task: Task = FIRST_IMPRESSIONS,
    log=print,
) -> dict:
    """Compute and write one sequence model's attention over time for each output's top clips.

    Parameters
    ----------
    caches : cache family -> its shard files (the families the model reads)
    predictions : the model's predictions tables, one per split in SPLITS order
    cam_settings : config ``cam``: ``splits`` and ``top_k``
    outputs : ``attention`` (json) and ``galleries`` (a folder of <output>.png)
    """
    use_threads(threads)
    spec = registry.spec(name)
    model = load_model(name, model_path)
    weights_model = keras.Model(model.inputs, model.get_layer(spec.attention.layer).output[1])
    params = {}
    for family, paths in caches.items():
        with CacheReader(paths[0]) as reader:
            params[family] = reader.params
    ranked = ranked_predictions(dict(zip(SPLITS, predictions)), cam_settings["splits"])
    tops = {output: top_clips(ranked, output, cam_settings["top_k"], task) for output in task.outputs}
    wanted = sorted({clip for top in tops.values() for clip in top["clip_id"]})
    rows = read_manifest(manifest).set_index("clip_id").loc[wanted].reset_index()
    source = ClipSource(name, rows, {family: {Path(p).stem: p for p in paths} for family, paths in caches.items()}, settings, task)
    clips = [(rows.loc[index, "clip_id"], instance) for index, (instance,) in source.clips()]
    batch = {key: np.stack([instance[key] for _, instance in clips]) for key in (clips[0][1] if clips else {})}  # instances share their shapes
    weights = np.asarray(weights_model.predict(batch, batch_size=64, verbose=0)) if clips else []  # one call, not one per clip
    looked = {clip_id: (w, spec.attention.times(instance, params), instance[spec.attention.mask]) for (clip_id, instance), w in zip(clips, weights)}
    log(f"{name}: attention of {len(looked)} distinct clips, the top {cam_settings['top_k']} per output of {', '.join(cam_settings['splits'])}")

    Path(outputs.galleries).mkdir(parents=True, exist_ok=True)
    result = {"model": name, "layer": spec.attention.layer, "tolerance_s": tolerance_s, "splits": list(cam_settings["splits"]), "outputs": {}}
    every = []
    for output in task.outputs:
        entries = []
        for rank, row in enumerate(tops[output].itertuples(index=False), start=1):
            weights, times, mask = looked[row.clip_id]
            peak, planted = peak_time(weights, times, mask), planted_moment(ground_truth, row.clip_id)
            within = planted is not None and abs(peak - planted) <= tolerance_s
            entries.append({"clip_id": row.clip_id, "split": row.split, "rank": rank, "prediction": float(row.prediction), "label": row.label})
            entries[-1].update(peak_s=round(peak, 4), planted_s=planted, within=bool(within))
        result["outputs"][output] = {"clips": entries, **share_within(entries)}
        every += entries
        with atomic_path(Path(outputs.galleries) / f"{output}.png") as tmp:
            figure = gallery(entries, looked, model=name, output=output, tolerance_s=tolerance_s)
            figure.savefig(tmp, format="png", dpi=90)
            plt.close(figure)
        summary = result["outputs"][output]
        said = f"; {summary['within']} of {summary['planted']} with a planted moment peak within {tolerance_s:g} s of it" if summary["planted"] else ""
        log(f"{output}: top {len(entries)} clips{said}")
    result.update(share_within(every))
    write_json(outputs.attention, result)
    return result


def gallery(entries: list[dict], looked: dict, *, model: str, output: str, tolerance_s: float):
    """One panel per top clip: its attention weights over time, the peak marked, the planted moment dashed."""
    rows = max(1, math.ceil(len(entries) / COLUMNS))
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(3.6 * COLUMNS, 2.0 * rows + 0.8), squeeze=False, layout="constrained")
    for ax, entry in zip(axes.flat, entries):
        weights, times, mask = looked[entry["clip_id"]]
        real = mask.astype(bool)
        ax.plot(times[real], weights[real], color="tab:blue", lw=1.0)
        ax.axvline(entry["peak_s"], color="tab:red", lw=1.0)
        if entry["planted_s"] is not None:
            ax.axvline(entry["planted_s"], color="black", ls="--", lw=1.0)
            ax.axvspan(entry["planted_s"] - tolerance_s, entry["planted_s"] + tolerance_s, color="0.85", zorder=0)
        label = entry["label"] if isinstance(entry["label"], str) else f"{entry['label']:.3f}"
        ax.set_title(f"#{entry['rank']} {entry['clip_id']}\npredicted {entry['prediction']:.3f}, label {label}", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(entries) :]:
        ax.set_axis_off()
    fig.supxlabel("time (s)")
    fig.supylabel("attention weight")
    fig.suptitle(
        f"{model}: where it looked for {output}, top {len(entries)} clips; red: the peak; dashed: the planted moment (grey: within {tolerance_s:g} s)",
        fontsize=11,
    )
    return fig
