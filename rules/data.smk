# The clips: the synthetic dataset (when enabled), probing per shard, and the manifest.


if SYNTHETIC:

    rule synthesize:
        output:
            synthetic_outputs(),
        log:
            f"results/{DATASET}/logs/synthesize.log",
        conda:
            "../envs/media.yaml"
        threads: 4
        params:
            synthetic=config["synthetic"],
        script:
            "../scripts/synthesize.py"


rule probe:
    input:
        videos=shard_videos,
        code=code("probe.py"),
    output:
        "results/{dataset}/probe/{shard}.tsv",
    log:
        "results/{dataset}/logs/probe/{shard}.log",
    conda:
        "../envs/media.yaml"
    params:
        clips=shard_clips,
        min_duration_s=config["dataset"]["min_duration_s"],
    script:
        "../scripts/probe.py"


rule manifest:
    input:
        probes=per_shard("results/{dataset}/probe/{shard}.tsv"),
        annotations=annotation_files,
        code=code("manifest.py"),
    output:
        manifest="results/{dataset}/manifest.tsv",
        excluded="results/{dataset}/excluded.tsv",
    log:
        "results/{dataset}/logs/manifest.log",
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/manifest.py"
