"""Rule mfcc_length: the MFCC sequence length, the mean frame count of the training split."""

from pathlib import Path

from impressions.data.clips import read_manifest
from impressions.features.audio_stage import mfcc_length
from impressions.io.atomic import write_json
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    manifest = read_manifest(snakemake.input.manifest)
    length = mfcc_length(manifest, {Path(path).stem: path for path in snakemake.input.caches})
    n_train = int((manifest["split"] == "train").sum())
    log.info("MFCC length %d frames: the mean over the %d training clips", length, n_train)
    write_json(snakemake.output[0], {"frames": length, "from_split": "train", "n_clips": n_train})
