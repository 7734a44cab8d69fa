"""Datasets: clip discovery and shards, annotations, the manifest and its exclusions, ffmpeg media work, and the
synthetic dataset with its known answer."""
