# VGGish embeddings per shard, batched across the shard's clips.


rule embed:
    input:
        logmel="results/{dataset}/features/logmel/{shard}.h5",
        wav="results/{dataset}/wav/{shard}",
        code=code("embed.py"),
    output:
        "results/{dataset}/features/vggish/{shard}.h5",
    log:
        "results/{dataset}/logs/embed/{shard}.log",
    params:
        vggish=config["vggish"],
    threads: 2
    benchmark:
        "results/{dataset}/benchmarks/embed/{shard}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    script:
        "../scripts/embed.py"
