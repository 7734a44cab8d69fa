# impressions: apparent personality from talking-head videos, from raw mp4s to a metrics report.
# The Snakefile only wires things together; the rules live in rules/, the computing in src/.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/scheduler.smk"
include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/audio.smk"
include: "rules/video.smk"
include: "rules/embed.smk"
include: "rules/text.smk"
include: "rules/aligned.smk"
include: "rules/train.smk"
include: "rules/cam.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
