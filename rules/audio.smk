# Audio: 16 kHz mono wav per clip, then the per-shard audio feature cache.


rule wav:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        videos=shard_videos,
        code=code("wav.py"),
    output:
        directory("results/{dataset}/wav/{shard}"),
    log:
        "results/{dataset}/logs/wav/{shard}.log",
    params:
        sample_rate=config["audio"]["sample_rate"],
    threads: 2
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/wav.py"


rule audio_features:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        wav="results/{dataset}/wav/{shard}",
        code=code("audio_features.py"),
    output:
        "results/{dataset}/features/audio/{shard}.h5",
    log:
        "results/{dataset}/logs/audio_features/{shard}.log",
    params:
        sample_rate=config["audio"]["sample_rate"],
        n_mfcc=config["audio"]["n_mfcc"],
    benchmark:
        "results/{dataset}/benchmarks/audio_features/{shard}.tsv"
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/audio_features.py"
