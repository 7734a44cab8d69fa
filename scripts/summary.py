"""Rule summary: the comparison of every model (summary.tsv) and the run's page (summary.md, .html, _tables.html)."""

import json
from pathlib import Path

import h5py
import pandas as pd

from impressions.data.clips import read_manifest
from impressions.io.atomic import write_text, write_tsv
from impressions.io.runlog import rule_log
from impressions.models.metrics import read_predictions
from impressions.models.modalities import fusion_against_single
from impressions.models.task import Task
from impressions.report import summary


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


with rule_log(snakemake) as log:  # noqa: F821
    root = Path(snakemake.output.markdown).parent
    with h5py.File(snakemake.input.embeddings, "r") as h5:
        embedder = json.loads(h5.attrs["params"])["embedder"]
    metrics = {model: read_json(path) for model, path in zip(snakemake.params.models, snakemake.input.metrics)}
    localisations = {model: read_json(path) for model, path in zip(snakemake.params.cams, snakemake.input.localisation)}
    galleries = {  # model -> trait or class -> cam/<model>/galleries/<output>.png
        model: {output: str((Path(folder) / f"{output}.png").relative_to(root)) for output in snakemake.params.outputs}
        for model, folder in zip(snakemake.params.cams, snakemake.input.cam_galleries)
    }
    attentions = {model: read_json(path) for model, path in zip(snakemake.params.attentions, snakemake.input.attention)}
    figures = {
        "data": [str(Path(p).relative_to(root)) for p in snakemake.input.data_figures],
        "training": [str(Path(p).relative_to(root)) for p in snakemake.input.training_figures],
        "predictions": [str(Path(p).relative_to(root)) for p in snakemake.input.prediction_figures],
        "models": [str(Path(p).relative_to(root)) for p in snakemake.input.get("model_figures", [])],
        "cam_profiles": {m: str(Path(p).relative_to(root)) for m, p in zip(snakemake.params.cams, snakemake.input.cam_profiles)},
        "cam_galleries": galleries,
        "attention_galleries": {
            model: {output: str((Path(folder) / f"{output}.png").relative_to(root)) for output in snakemake.params.outputs}
            for model, folder in zip(snakemake.params.attentions, snakemake.input.attention_galleries)
        },
    }
    timings = pd.DataFrame(
        [{"rule": Path(path).parent.name, "job": Path(path).stem, **pd.read_csv(path, sep="\t").iloc[0]} for path in snakemake.input.benchmarks]
    )
    task = Task.from_params(snakemake.params.task)
    predictions = {model: read_predictions(path, task) for model, path in zip(snakemake.params.models, snakemake.input.predictions)}
    fusion = fusion_against_single(task, predictions, snakemake.params.modalities, snakemake.params.resampling)
    page = summary.blocks(
        dataset=snakemake.wildcards.dataset,
        manifest=read_manifest(snakemake.input.manifest),
        excluded=read_manifest(snakemake.input.excluded),
        embedder=embedder,
        metrics=metrics,
        localisations=localisations,
        figures=figures,
        keras_models=snakemake.params.keras_models,
        timings=timings,
        fusion=fusion,
        attentions=attentions,
    )
    write_tsv(snakemake.output.table, summary.summary_table(metrics))
    markdown = summary.to_markdown(page)
    write_text(snakemake.output.markdown, markdown)
    write_text(snakemake.output.html, summary.to_html(page, root))
    write_text(snakemake.output.tables, summary.to_html(summary.without_figures(page), root))
    log.info("\n%s", markdown)
