"""Rule plot_labels: the labels per split (trait distributions, or clips per class)."""

from impressions.data.clips import read_manifest
from impressions.io.runlog import rule_log
from impressions.models.task import Task
from impressions.report import plots

with rule_log(snakemake) as log:  # noqa: F821
    task = Task.from_params(snakemake.params.task)
    manifest = read_manifest(snakemake.input.manifest)
    labels = plots.class_distribution(manifest, task) if task.classification else plots.trait_distributions(manifest, task.targets)
    plots.save(labels, snakemake.output[0])
    log.info("labels of %d clips per split: %s", len(manifest), snakemake.output[0])
