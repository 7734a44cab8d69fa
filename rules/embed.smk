# VGGish embeddings per shard, batched across the shard's clips.


rule convert_vggish:
    input:
        checkpoint=vggish_checkpoint_files,
        code=code("convert_vggish.py"),
    output:
        directory("results/vggish_checkpoint/savedmodel"),
    log:
        "results/vggish_checkpoint/convert.log",
    conda:
        "../envs/tensorflow.yaml"
    params:
        checkpoint=config["vggish"]["checkpoint"],
        pca_params=config["vggish"]["pca_params"] or None,
    script:
        "../scripts/convert_vggish.py"


rule embed:
    input:
        logmel="results/{dataset}/features/logmel/{shard}.h5",
        wav="results/{dataset}/wav/{shard}",
        model=converted_vggish,
        code=code("embed.py"),
    output:
        "results/{dataset}/features/vggish/{shard}.h5",
    log:
        "results/{dataset}/logs/embed/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/embed/{shard}.tsv"
    # First when its log-mel is ready: the VGGish models, KNN and the ensemble wait for every shard's
    # embeddings, and the scheduler otherwise left the last shard's until the CAM jobs were done.
    priority: 1
    conda:
        "../envs/tensorflow.yaml"
    # One thread, so that it runs beside a training job (on 2 cores a two-thread job waited until no
    # training job ran).
    threads: 1
    params:
        vggish=setting("vggish"),
    script:
        "../scripts/embed.py"
