# Aligned sequences: every clip's audio, video and text on one time axis of fixed steps, per shard.


rule aligned:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        wav="results/{dataset}/wav/{shard}",
        videos=shard_videos,
        sheet=aligned_text_source,
        code=code("aligned.py"),
    output:
        "results/{dataset}/features/aligned/{shard}.h5",
    log:
        "results/{dataset}/logs/aligned/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/aligned/{shard}.tsv"
    conda:
        "../envs/aligned.yaml"
    params:
        aligned=setting("aligned"),
        modalities=aligned_modalities,
    script:
        "../scripts/aligned.py"
