# Text: TF-IDF features of each utterance's words, for datasets whose sheet has them (MELD), fitted
# on the training split once, then written per shard.


rule text_vectorizer:
    input:
        manifest="results/{dataset}/manifest.tsv",
        code=code("text_vectorizer.py"),
    output:
        "results/{dataset}/features/text_vectorizer.pkl",
    log:
        "results/{dataset}/logs/text_vectorizer.log",
    conda:
        "../envs/features.yaml"
    params:
        text=setting("text"),
    script:
        "../scripts/text_vectorizer.py"


rule text:
    input:
        manifest="results/{dataset}/manifest.tsv",
        vectorizer="results/{dataset}/features/text_vectorizer.pkl",
        code=code("text.py"),
    output:
        "results/{dataset}/features/text/{shard}.h5",
    log:
        "results/{dataset}/logs/text/{shard}.log",
    conda:
        "../envs/features.yaml"
    params:
        text=setting("text"),
    script:
        "../scripts/text.py"
