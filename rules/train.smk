# One training job per model (a GPU job on a cluster for the Keras models), then its metrics.


rule train:
    input:
        unpack(model_inputs),
        code=model_code("train.py"),
    output:
        model="results/{dataset}/models/{keras_model}/model.keras",
        history="results/{dataset}/models/{keras_model}/history.csv",
        excluded="results/{dataset}/models/{keras_model}/excluded.tsv",
        predictions=expand("results/{{dataset}}/models/{{keras_model}}/predictions_{split}.csv", split=SPLITS),
    log:
        "results/{dataset}/logs/train/{keras_model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train/{keras_model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    resources:
        gpu=config["models"]["gpus"],
    params:
        settings=model_params,
        entry=model_entry,
        seed=config["models"]["seed"],
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
    log:
        "results/{dataset}/logs/train/{sklearn_model}.log",
    conda:
        "../envs/report.yaml"
    params:
        settings=model_params,
        entry=model_entry,
    script:
        "../scripts/train_sklearn.py"


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
    script:
        "../scripts/evaluate.py"
