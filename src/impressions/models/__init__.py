"""Models: the registry, the builders, model inputs and tf.data streams, training and metrics."""
