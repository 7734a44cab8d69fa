"""The words of an utterance as they are spoken: what the aligned cache places in time and what the
MELD-layout generator says aloud, cut the same way (a light module: the generator is read while
Snakemake builds its DAG)."""

from __future__ import annotations

import re

SPOKEN_WORD = re.compile(r"\b\w[\w'’]*\b")
"""A word: letters and digits, with apostrophes (ASCII or typographic, as MELD writes them) inside."""


def spoken_words(text: str) -> list[str]:
    """The words of an utterance, lowercased, in order ("Oh, don’t!" -> ["oh", "don’t"])."""
    return SPOKEN_WORD.findall(text.lower())


def even_pace(words: list[str], start: float, end: float, *, pause_s: float) -> list[tuple[float, float]]:
    """(start, end) of each word said at an even pace between `start` and `end`: a word's time in
    proportion to its letters, `pause_s` between words; what the aligned cache's placement assumes."""
    letters = sum(len(word) for word in words)
    voiced = end - start - pause_s * (len(words) - 1)
    spans, at = [], start
    for word in words:
        length = voiced * len(word) / letters
        spans.append((at, at + length))
        at += length + pause_s
    return spans
