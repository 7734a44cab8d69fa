# Figures and the summary a researcher reads; `snakemake --report results/report.html` gathers them,
# one category per dataset. The task decides some figure names (task_figures) and what the captions
# explain (they read the job's task param).


rule plot_labels:
    input:
        manifest="results/{dataset}/manifest.tsv",
        code=code("plot_labels.py"),
    output:
        report(
            "results/{dataset}/plots/{label_figure}.png",
            caption="../report/label_distributions.rst",
            category="{dataset}",
            subcategory="1. Data",
            labels=figure_label("label_figure"),
        ),
    log:
        "results/{dataset}/logs/plot_labels/{label_figure}.log",
    conda:
        "../envs/report.yaml"
    params:
        task=task_params,
    script:
        "../scripts/plot_labels.py"


rule plot_samples:
    input:
        manifest="results/{dataset}/manifest.tsv",
        frames=video_caches,
        mfcc=per_shard("results/{dataset}/features/mfcc/{shard}.h5"),
        code=code("plot_samples.py"),
    output:
        report(
            "results/{dataset}/plots/sample_clips.png",
            caption="../report/sample_clips.rst",
            category="{dataset}",
            subcategory="1. Data",
            labels={"figure": "sample clips"},
        ),
    log:
        "results/{dataset}/logs/plot_samples.log",
    conda:
        "../envs/report.yaml"
    params:
        sample_rate=setting("audio", "sample_rate"),
        task=task_params,
    script:
        "../scripts/plot_samples.py"


rule plot_training:
    input:
        history="results/{dataset}/models/{keras_model}/history.csv",
        code=code("plot_training.py"),
    output:
        report(
            "results/{dataset}/plots/{keras_model}/training_curves.png",
            caption="../report/training_curves.rst",
            category="{dataset}",
            subcategory="2. Training",
            labels={"model": "{keras_model}", "figure": "training curves"},
        ),
    log:
        "results/{dataset}/logs/plot_training/{keras_model}.log",
    conda:
        "../envs/report.yaml"
    params:
        settings=model_params,
        task=task_params,
    script:
        "../scripts/plot_training.py"


rule plot_predictions:
    input:
        predictions="results/{dataset}/models/{model}/predictions_test.csv",
        code=code("plot_predictions.py"),
    output:
        report(
            "results/{dataset}/plots/{model}/{prediction_figure}.png",
            caption="../report/test_predictions.rst",
            category="{dataset}",
            subcategory="3. Predictions",
            labels=figure_label("prediction_figure", suffix=" (test)"),
        ),
    log:
        "results/{dataset}/logs/plot_predictions/{model}_{prediction_figure}.log",
    conda:
        "../envs/report.yaml"
    params:
        task=task_params,
    script:
        "../scripts/plot_predictions.py"


rule plot_class_f1:
    input:
        metrics=metrics_of_all_models,
        code=code("plot_class_f1.py"),
    output:
        report(
            "results/{dataset}/plots/class_f1.png",
            caption="../report/class_f1.rst",
            category="{dataset}",
            subcategory="3. Predictions",
            labels={"model": "all models", "figure": "F1 per class (test)"},
        ),
    log:
        "results/{dataset}/logs/plot_class_f1.log",
    conda:
        "../envs/report.yaml"
    params:
        models=dataset_models(),
    script:
        "../scripts/plot_class_f1.py"


rule summary:
    input:
        unpack(summary_figures),
        manifest="results/{dataset}/manifest.tsv",
        excluded="results/{dataset}/excluded.tsv",
        embeddings=first_shard("results/{dataset}/features/vggish/{shard}.h5"),
        metrics=metrics_of_all_models,
        predictions=predictions_of_all_models("test"),
        localisation=cam_files("localisation.json"),
        attention=attention_files,
        ground_truth=ground_truth,
        benchmarks=benchmarks,
        code=code("summary.py"),
    output:
        markdown="results/{dataset}/summary.md",
        table=report(
            "results/{dataset}/summary.tsv",
            caption="../report/summary_table.rst",
            category="{dataset}",
            subcategory="0. Comparison",
            labels={"table": "download: all models, every split (summary.tsv)"},
        ),
        html="results/{dataset}/summary.html",
        tables=report(
            "results/{dataset}/summary_tables.html",
            caption="../report/summary_tables.rst",
            category="{dataset}",
            subcategory="0. Comparison",
            labels={"table": "comparison of all models (test split), CAM localisation"},
        ),
    log:
        "results/{dataset}/logs/summary.log",
    conda:
        "../envs/report.yaml"
    params:
        models=dataset_models(),
        cams=dataset_models("cams"),
        attentions=dataset_models("attentions"),
        keras_models=dataset_models("keras_models"),
        outputs=task_outputs,
        task=task_params,
        modalities=dataset_models("modalities"),
        resampling=setting("evaluate"),
    script:
        "../scripts/summary.py"
