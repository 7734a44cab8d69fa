"""The embedding stage of a shard: VGGish embeddings of every clip, in one HDF5 cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from impressions.features.vggish import load_embedder
from impressions.io.cache import CacheReader, write_cache
from impressions.io.tf_runtime import use_threads
from impressions.io.wav import read_wav


def embedding_cache(
    logmel_cache: str | os.PathLike,
    wav_folder: str | os.PathLike,
    output: str | os.PathLike,
    *,
    source: str,
    hub_handle: str | None,
    seed: int,
    batch_size: int,
    savedmodel: str | os.PathLike | None = None,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> None:
    """Write ``embeddings`` (seconds, 128) float32 per clip: one VGGish embedding per 0.96 s example.

    The untrained network and the converted checkpoint (`savedmodel`) embed the cached log-mel
    examples of all the shard's clips in shared batches; a TF Hub model takes each clip's
    waveform, as its signature asks.
    """
    use_threads(threads)
    embedder = load_embedder(source=source, hub_handle=hub_handle, seed=seed, savedmodel=savedmodel)
    log(f"VGGish: {embedder.description}")
    with CacheReader(logmel_cache) as cache:
        clip_ids = cache.clip_ids
        examples = cache.all("vggish_examples")
    waveforms = [read_wav(Path(wav_folder) / f"{c}.wav")[0] for c in clip_ids]
    embeddings = embedder.embed(waveforms, examples, batch_size=batch_size)
    log(f"{len(clip_ids)} clips, {sum(len(e) for e in embeddings)} embeddings")
    params = {
        "embedder": {"source": embedder.source, "pretrained": embedder.pretrained, "description": embedder.description},
        "seed": seed,
        "hub_handle": hub_handle if source == "hub" else None,
        "savedmodel": str(savedmodel) if source == "checkpoint" else None,
        "batch_size": batch_size,
    }
    write_cache(output, clip_ids, {"embeddings": embeddings}, params)
