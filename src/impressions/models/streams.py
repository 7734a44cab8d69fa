"""tf.data pipelines over the caches: training batches and per-clip predictions, streamed.

Only the shuffle buffer and the prefetched batches are in memory, never a whole split.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from impressions.models.inputs import ClipSource


def signature(source: ClipSource):
    """The tf.TensorSpec (or dict of them) of one instance of `source`."""
    first = source.first_instance()
    if isinstance(first, dict):
        return {k: tf.TensorSpec(v.shape, tf.as_dtype(v.dtype)) for k, v in first.items()}
    return tf.TensorSpec(first.shape, tf.as_dtype(first.dtype))


def dataset(
    source: ClipSource,
    *,
    targets: np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    shuffle_buffer: int = 256,
    weights: np.ndarray | None = None,
) -> tf.data.Dataset:
    """A tf.data pipeline of (instance, target) batches streamed from the caches.

    With `shuffle`, clips are read in a new seeded order every epoch and instances are mixed in
    a buffer of `shuffle_buffer`; only the buffer and the prefetched batches are in memory.
    `targets` are the clip's targets (already scaled as the loss wants), shared by its instances;
    `weights`, when given, are per-clip loss weights (class weights), yielded as a third element.
    """
    epoch = [0]

    def generate():
        order = np.random.default_rng([seed, epoch[0]]).permutation(len(source.rows)) if shuffle else None
        epoch[0] += 1
        for index, instances in source.clips(order):
            for instance in instances:
                yield (instance, targets[index]) if weights is None else (instance, targets[index], weights[index])

    output_signature = (signature(source), tf.TensorSpec((targets.shape[1],), tf.float32))
    if weights is not None:
        output_signature += (tf.TensorSpec((), tf.float32),)
    stream = tf.data.Dataset.from_generator(generate, output_signature=output_signature)
    if shuffle:
        stream = stream.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return stream.batch(batch_size).prefetch(tf.data.AUTOTUNE)
