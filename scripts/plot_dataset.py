"""Rule plot_dataset: the trait distributions per split and three sample clips (frames, MFCCs, labels)."""

from pathlib import Path

from impressions import TRAITS
from impressions.data.clips import read_manifest
from impressions.io.cache import CacheReader, read_feature
from impressions.io.runlog import rule_log
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    manifest = read_manifest(snakemake.input.manifest)
    plots.save(plots.trait_distributions(manifest), snakemake.output.distributions)
    chosen = manifest.set_index("clip_id").loc[plots.pick_samples(manifest)].reset_index()
    shard_files = {family: {Path(path).stem: path for path in snakemake.input[family]} for family in ("frames", "mfcc")}
    with CacheReader(snakemake.input.mfcc[0]) as cache:
        hop_length = cache.params["hop_length"]
    frames = read_feature(chosen, shard_files["frames"], "frames")
    mfccs = read_feature(chosen, shard_files["mfcc"], "mfcc")
    samples = [
        {
            "clip_id": row.clip_id,
            "split": row.split,
            "frames": frames[row.clip_id],
            "mfcc": mfccs[row.clip_id],
            "sample_rate": snakemake.params.sample_rate,
            "hop_length": hop_length,
            "labels": {t: getattr(row, t) for t in TRAITS},
        }
        for row in chosen.itertuples()
    ]
    log.info("sample clips: %s", ", ".join(chosen["clip_id"]))
    plots.save(plots.sample_clips(samples), snakemake.output.samples)
