# One training job per model (a GPU job on a cluster for the Keras models), the ensemble of their
# predictions, then each model's metrics.


rule train:
    input:
        unpack(model_inputs),
        code=model_code("train.py"),
    output:
        model="results/{dataset}/models/{keras_model}/model.keras",
        history="results/{dataset}/models/{keras_model}/history.csv",
        excluded="results/{dataset}/models/{keras_model}/excluded.tsv",
        predictions=expand("results/{{dataset}}/models/{{keras_model}}/predictions_{split}.csv", split=SPLITS),
        predict="results/{dataset}/models/{keras_model}/predictions_predict.csv",
    log:
        "results/{dataset}/logs/train/{keras_model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train/{keras_model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    # One thread: these small networks step no faster on two (bench/training_speed.py --threads),
    # so two models train side by side on two cores. More with --set-threads train=N.
    threads: 1
    resources:
        gpu=setting("models", "gpus"),
    params:
        settings=model_params,
        entry=model_entry,
        seed=setting("models", "seed"),
        task=task_params,
        memory_mb=setting("models", "memory_mb"),
    script:
        "../scripts/train.py"


rule train_sklearn:
    input:
        unpack(model_inputs),
        code=model_code("train_sklearn.py"),
    output:
        model="results/{dataset}/models/{sklearn_model}/model.pkl",
        excluded="results/{dataset}/models/{sklearn_model}/excluded.tsv",
        predictions=expand("results/{{dataset}}/models/{{sklearn_model}}/predictions_{split}.csv", split=SPLITS),
        predict="results/{dataset}/models/{sklearn_model}/predictions_predict.csv",
    log:
        "results/{dataset}/logs/train/{sklearn_model}.log",
    conda:
        "../envs/report.yaml"
    params:
        settings=model_params,
        entry=model_entry,
        task=task_params,
        memory_mb=setting("models", "memory_mb"),
    script:
        "../scripts/train_sklearn.py"


rule ensemble:
    input:
        unpack(member_predictions),
        code=model_code("ensemble.py"),
    output:
        stack="results/{dataset}/models/{stack_model}/ensemble.json",
        excluded="results/{dataset}/models/{stack_model}/excluded.tsv",
        predictions=expand("results/{{dataset}}/models/{{stack_model}}/predictions_{split}.csv", split=SPLITS),
        predict="results/{dataset}/models/{stack_model}/predictions_predict.csv",
    log:
        "results/{dataset}/logs/train/{stack_model}.log",
    conda:
        "../envs/report.yaml"
    params:
        settings=model_params,
        entry=model_entry,
        members=stack_members,
        seed=setting("models", "seed"),
        task=task_params,
    script:
        "../scripts/ensemble.py"


rule evaluate:
    input:
        predictions=expand("results/{{dataset}}/models/{{model}}/predictions_{split}.csv", split=SPLITS),
        ground_truth=ground_truth,
        code=code("evaluate.py"),
    output:
        "results/{dataset}/models/{model}/metrics.json",
    log:
        "results/{dataset}/logs/evaluate/{model}.log",
    conda:
        "../envs/report.yaml"
    params:
        task=task_params,
        resampling=setting("evaluate"),
    script:
        "../scripts/evaluate.py"


rule submission:
    input:
        predictions=predictions_of_all_models("predict"),
        metrics=metrics_of_all_models,
        sheet="results/{dataset}/clips.tsv",
        code=code("submission.py"),
    output:
        report(
            "results/{dataset}/submission.csv",
            caption="../report/submission.rst",
            category="{dataset}",
            subcategory="3. Predictions",
            labels={"table": "submission: the unlabelled clips, predicted"},
        ),
    log:
        "results/{dataset}/logs/submission.log",
    conda:
        "../envs/report.yaml"
    params:
        models=dataset_models(),
        task=task_params,
        file_column=setting("dataset", "table", "path_column"),
    script:
        "../scripts/submission.py"
