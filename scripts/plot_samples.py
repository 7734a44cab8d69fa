"""Rule plot_samples: three sample clips (frames where the dataset has video, MFCCs, labels)."""

from pathlib import Path

from impressions.data.clips import read_manifest
from impressions.io.cache import CacheReader, read_feature
from impressions.io.runlog import rule_log
from impressions.models.task import Task
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    task = Task.from_params(snakemake.params.task)
    manifest = read_manifest(snakemake.input.manifest)
    chosen = manifest.set_index("clip_id").loc[plots.pick_samples(manifest, task=task)].reset_index()
    with CacheReader(snakemake.input.mfcc[0]) as cache:
        hop_length = cache.params["hop_length"]
    mfccs = read_feature(chosen, {Path(path).stem: path for path in snakemake.input.mfcc}, "mfcc")
    frames = read_feature(chosen, {Path(path).stem: path for path in snakemake.input.frames}, "frames") if snakemake.input.frames else {}
    samples = [
        {
            "clip_id": row.clip_id,
            "split": row.split,
            "frames": frames.get(row.clip_id),
            "mfcc": mfccs[row.clip_id],
            "sample_rate": snakemake.params.sample_rate,
            "hop_length": hop_length,
            "labels": {t: getattr(row, t) for t in task.targets},
            "classes": list(task.classes),
        }
        for row in chosen.itertuples()
    ]
    log.info("sample clips: %s%s", ", ".join(chosen["clip_id"]), "" if snakemake.input.frames else " (no video: no frames)")
    plots.save(plots.sample_clips(samples), snakemake.output[0])
