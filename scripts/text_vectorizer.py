"""Rule text_vectorizer: TF-IDF of the utterances' words and characters, fitted on the training split."""

from impressions.data.clips import read_manifest
from impressions.features.text_stage import fit_text
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    fit_text(read_manifest(snakemake.input.manifest), snakemake.output[0], dict(snakemake.params.text), log=log.info)
