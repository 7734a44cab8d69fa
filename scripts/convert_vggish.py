"""Rule convert_vggish: the official AudioSet VGGish checkpoint, as a SavedModel of our network."""

from impressions.features.vggish_checkpoint import convert_checkpoint
from impressions.io.runlog import rule_log

with rule_log(snakemake) as log:  # noqa: F821
    convert_checkpoint(snakemake.params.checkpoint, snakemake.output[0], pca_params=snakemake.params.pca_params)
    log.info("converted %s (PCA: %s)", snakemake.params.checkpoint, snakemake.params.pca_params or "none")
