# The human-readable summary of the run.


rule summary:
    input:
        manifest="results/{dataset}/manifest.tsv",
        excluded="results/{dataset}/excluded.tsv",
        embeddings=f"results/{{dataset}}/features/vggish/{SHARDS[0]}.h5",
        metrics=metrics_of_all_models,
        ground_truth=ground_truth,
        code=code("summary.py"),
    output:
        "results/{dataset}/summary.md",
    log:
        "results/{dataset}/logs/summary.log",
    params:
        models=MODELS,
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/summary.py"
