# The clips: the embedded synthetic dataset (when enabled), the clip sheet, probing per shard, the
# manifest, and excluded.tsv (every file and label left out, and why).


for generated in (chosen for chosen in DATASETS.values() if chosen.synthetic):

    rule:
        name:
            f"synthesize_{generated.name}"
        output:
            generated.synthetic_outputs(),
        log:
            f"results/{generated.name}/logs/synthesize.log",
        conda:
            "../envs/media.yaml"
        threads: 4
        params:
            kind=generated.kind,
            synthetic=generated.synthetic_params(),
        script:
            "../scripts/synthesize.py"


rule sheet:
    input:
        labels=label_files,
        code=code("sheet.py"),
    output:
        sheet="results/{dataset}/clips.tsv",
        excluded="results/{dataset}/exclusions/sheet.tsv",
    log:
        "results/{dataset}/logs/sheet.log",
    conda:
        "../envs/media.yaml"
    params:
        kind=lambda wildcards: dataset(wildcards).kind,
        root=lambda wildcards: dataset(wildcards).root,
        dataset=lambda wildcards: dataset(wildcards).settings(),
        files=listed_files,
    script:
        "../scripts/sheet.py"


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
        min_duration_s=setting("dataset", "min_duration_s"),
    script:
        "../scripts/probe.py"


rule manifest:
    input:
        sheet="results/{dataset}/clips.tsv",
        probes=per_shard("results/{dataset}/probe/{shard}.tsv"),
        wav=per_shard("results/{dataset}/wav/{shard}"),
        code=code("manifest.py"),
    output:
        manifest="results/{dataset}/manifest.tsv",
        excluded="results/{dataset}/exclusions/media.tsv",
    log:
        "results/{dataset}/logs/manifest.log",
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/manifest.py"


rule exclusions:
    input:
        manifest="results/{dataset}/manifest.tsv",
        sheet="results/{dataset}/exclusions/sheet.tsv",
        media="results/{dataset}/exclusions/media.tsv",
        caches=every_cache,
        code=code("exclusions.py"),
    output:
        "results/{dataset}/excluded.tsv",
    log:
        "results/{dataset}/logs/exclusions.log",
    conda:
        "../envs/media.yaml"
    params:
        n_shards=setting("dataset", "n_shards"),
    script:
        "../scripts/exclusions.py"
