# Audio: 16 kHz mono wav per clip, then one per-shard HDF5 cache per representation family.


rule wav:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        videos=shard_videos,
        code=code("wav.py"),
    output:
        directory("results/{dataset}/wav/{shard}"),
    log:
        "results/{dataset}/logs/wav/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/wav/{shard}.tsv"
    conda:
        "../envs/media.yaml"
    threads: 2
    params:
        sample_rate=setting("audio", "sample_rate"),
        min_duration_s=setting("dataset", "min_duration_s"),
    script:
        "../scripts/wav.py"


rule logmel:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        wav="results/{dataset}/wav/{shard}",
        code=code("logmel.py"),
    output:
        "results/{dataset}/features/logmel/{shard}.h5",
    log:
        "results/{dataset}/logs/logmel/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/logmel/{shard}.tsv"
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/logmel.py"


rule mfcc:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        wav="results/{dataset}/wav/{shard}",
        code=code("mfcc.py"),
    output:
        "results/{dataset}/features/mfcc/{shard}.h5",
    log:
        "results/{dataset}/logs/mfcc/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/mfcc/{shard}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        mfcc=setting("mfcc"),
    script:
        "../scripts/mfcc.py"


rule mfcc_length:
    input:
        manifest="results/{dataset}/manifest.tsv",
        caches=per_shard("results/{dataset}/features/mfcc/{shard}.h5"),
        code=code("mfcc_length.py"),
    output:
        "results/{dataset}/features/mfcc_length.json",
    log:
        "results/{dataset}/logs/mfcc_length.log",
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/mfcc_length.py"


rule spectrograms:
    input:
        logmel="results/{dataset}/features/logmel/{shard}.h5",
        code=code("spectrograms.py"),
    output:
        "results/{dataset}/features/spectrogram/{shard}.h5",
    log:
        "results/{dataset}/logs/spectrograms/{shard}.log",
    conda:
        "../envs/features.yaml"
    params:
        spectrogram=setting("spectrogram"),
    script:
        "../scripts/spectrograms.py"


rule rawwave:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        wav="results/{dataset}/wav/{shard}",
        code=code("rawwave.py"),
    output:
        "results/{dataset}/features/rawwave/{shard}.h5",
    log:
        "results/{dataset}/logs/rawwave/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/rawwave/{shard}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        rawwave=setting("rawwave"),
    script:
        "../scripts/rawwave.py"


rule egemaps:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        wav="results/{dataset}/wav/{shard}",
        code=code("egemaps.py"),
    output:
        "results/{dataset}/features/egemaps/{shard}.h5",
    log:
        "results/{dataset}/logs/egemaps/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/egemaps/{shard}.tsv"
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/egemaps.py"
