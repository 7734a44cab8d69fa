"""tf.data pipelines over the caches: training batches and per-clip predictions, streamed.

Only the shuffle buffer and the prefetched batches are in memory, never a whole split.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from impressions.models.inputs import ClipSource, stack


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
    A source kept in memory (`ClipSource.kept`) is sliced from its arrays instead, shuffled
    whole every epoch (seeded), with no Python per instance.
    `targets` are the clip's targets (already scaled as the loss wants), shared by its instances;
    `weights`, when given, are per-clip loss weights (class weights), yielded as a third element.
    """
    if source.kept is not None:
        return _in_memory(source, targets, batch_size, shuffle, seed, weights)
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


def _in_memory(source: ClipSource, targets: np.ndarray, batch_size: int, shuffle: bool, seed: int, weights: np.ndarray | None) -> tf.data.Dataset:
    """`dataset` of a source whose instances are all in memory, in manifest order unless shuffled."""
    owners = np.array([index for index, instances in enumerate(source.kept) for _ in instances], np.int64)
    instances = [instance for clip in source.kept for instance in clip]
    if not instances:
        raise ValueError(f"no clip of this split gives an input ({source.spec.exclusion_reason})")
    elements = (stack(instances), targets[owners].astype(np.float32))
    if weights is not None:
        elements += (np.asarray(weights, np.float32)[owners],)
    stream = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        stream = stream.shuffle(len(owners), seed=seed, reshuffle_each_iteration=True)
    return stream.batch(batch_size).prefetch(tf.data.AUTOTUNE)
