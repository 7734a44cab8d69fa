"""impressions: apparent personality and emotion from talking-head videos, as a Snakemake DAG."""

__version__ = "0.1.0"

TRAITS = ("extraversion", "neuroticism", "agreeableness", "conscientiousness", "openness")
"""The Big Five traits, in the order every model predicts them."""

LABELS = TRAITS + ("interview",)
"""Every column of a ChaLearn First Impressions V2 annotation file."""

EMOTIONS = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
"""MELD's seven emotion classes, in the order its models output them."""

SENTIMENTS = ("neutral", "positive", "negative")
"""MELD's three sentiment classes."""

SPLITS = ("train", "val", "test")
"""The splits, in the order tables list them."""
