"""Input and output that every stage shares: atomic writes, the HDF5 caches, wav reading, rule logs, provenance, errors and TensorFlow process settings."""
