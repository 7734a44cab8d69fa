# Figures and the summary a researcher reads; `snakemake --report results/report.html` gathers them.


rule plot_dataset:
    input:
        manifest="results/{dataset}/manifest.tsv",
        frames=per_shard("results/{dataset}/features/frames/{shard}.h5"),
        mfcc=per_shard("results/{dataset}/features/mfcc/{shard}.h5"),
        code=code("plot_dataset.py"),
    output:
        distributions=report(
            "results/{dataset}/plots/trait_distributions.png",
            caption="../report/trait_distributions.rst",
            category="1. Data",
            labels={"figure": "trait distributions"},
        ),
        samples=report(
            "results/{dataset}/plots/sample_clips.png",
            caption="../report/sample_clips.rst",
            category="1. Data",
            labels={"figure": "sample clips"},
        ),
    log:
        "results/{dataset}/logs/plot_dataset.log",
    conda:
        "../envs/report.yaml"
    params:
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../scripts/plot_dataset.py"


rule plot_training:
    input:
        history="results/{dataset}/models/{keras_model}/history.csv",
        code=code("plot_training.py"),
    output:
        report(
            "results/{dataset}/plots/{keras_model}/training_curves.png",
            caption="../report/training_curves.rst",
            category="2. Training",
            subcategory="{keras_model}",
            labels={"model": "{keras_model}", "figure": "training curves"},
        ),
    log:
        "results/{dataset}/logs/plot_training/{keras_model}.log",
    conda:
        "../envs/report.yaml"
    params:
        settings=model_params,
    script:
        "../scripts/plot_training.py"


rule plot_predictions:
    input:
        predictions="results/{dataset}/models/{model}/predictions_test.csv",
        code=code("plot_predictions.py"),
    output:
        report(
            "results/{dataset}/plots/{model}/predicted_vs_true.png",
            caption="../report/predicted_vs_true.rst",
            category="3. Predictions",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "predicted vs true (test)"},
        ),
    log:
        "results/{dataset}/logs/plot_predictions/{model}.log",
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/plot_predictions.py"


rule summary:
    input:
        unpack(summary_figures),
        manifest="results/{dataset}/manifest.tsv",
        excluded="results/{dataset}/excluded.tsv",
        embeddings=f"results/{{dataset}}/features/vggish/{SHARDS[0]}.h5",
        metrics=metrics_of_all_models,
        localisation=expand("results/{{dataset}}/cam/{cam_model}/localisation.json", cam_model=CAMS),
        ground_truth=ground_truth,
        code=code("summary.py"),
    output:
        markdown="results/{dataset}/summary.md",
        table=report(
            "results/{dataset}/summary.tsv",
            caption="../report/summary_table.rst",
            category="0. Comparison",
            labels={"table": "download: all models, every split (summary.tsv)"},
        ),
        html="results/{dataset}/summary.html",
        tables=report(
            "results/{dataset}/summary_tables.html",
            caption="../report/summary_tables.rst",
            category="0. Comparison",
            labels={"table": "comparison of all models (test split), CAM localisation"},
        ),
    log:
        "results/{dataset}/logs/summary.log",
    conda:
        "../envs/report.yaml"
    params:
        models=MODELS,
        cams=CAMS,
        keras_models=KERAS_MODELS,
    script:
        "../scripts/summary.py"
