"""Rule summary: a short human-readable account of the run (summary.md)."""

import json

import h5py

from impressions import summary
from impressions.atomic import write_text
from impressions.dataset import read_manifest
from impressions.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    with h5py.File(snakemake.input.embeddings, "r") as h5:
        embedder = json.loads(h5.attrs["params"])["embedder"]
    metrics = {}
    for model, path in zip(snakemake.params.models, snakemake.input.metrics):
        with open(path) as handle:
            metrics[model] = json.load(handle)
    ground_truth = None
    if snakemake.input.ground_truth:
        with open(snakemake.input.ground_truth[0]) as handle:
            ground_truth = json.load(handle)
    text = summary.render(
        dataset=snakemake.wildcards.dataset,
        manifest=read_manifest(snakemake.input.manifest),
        excluded=read_manifest(snakemake.input.excluded),
        embedder=embedder,
        metrics=metrics,
        ground_truth=ground_truth,
    )
    write_text(snakemake.output[0], text)
    log.info("\n%s", text)
