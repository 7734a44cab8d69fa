"""Features: the audio and video transforms, the per-shard cache stages and VGGish (network, embedders, checkpoint conversion)."""
