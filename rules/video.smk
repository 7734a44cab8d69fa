# Video: a few frames per clip, resized, in a per-shard HDF5 cache.


rule frames:
    input:
        probe="results/{dataset}/probe/{shard}.tsv",
        videos=shard_videos,
        code=code("frames.py"),
    output:
        "results/{dataset}/features/frames/{shard}.h5",
    log:
        "results/{dataset}/logs/frames/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/frames/{shard}.tsv"
    conda:
        "../envs/media.yaml"
    threads: 2
    params:
        frames=setting("frames"),
    script:
        "../scripts/frames.py"
