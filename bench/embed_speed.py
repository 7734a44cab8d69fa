"""Speed of the embedding stage against the bare forward pass of the same VGGish network.

Three ways, timed in one run on this machine:
- bare: the network's batched forward pass on random log-mel input already in memory;
- ours: `embedding_cache`, the function the embed rule calls, on a log-mel cache of clips
  (reading the cache, batching across clips, writing the embeddings);
- seeds' way: one model call per clip, and one process per clip that imports TensorFlow and
  builds the model (the process cost is measured on `--seed-clips` clips).

    .venv/bin/python bench/embed_speed.py [--clips 128] [--seconds 15] [--batch-size 64]

Last line: ``embed_speed: ratio=<ours/bare throughput> ours_examples_per_s=.. bare_examples_per_s=.. per_clip_call_examples_per_s=.. process_per_clip_s=..``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from impressions.features.embed_stage import embedding_cache  # noqa: E402
from impressions.features.vggish import build_vggish  # noqa: E402
from impressions.io.cache import write_cache  # noqa: E402

PROCESS_PER_CLIP = """
import sys, numpy as np
sys.path.insert(0, {src!r})
from impressions.features.vggish import build_vggish
model = build_vggish(seed=0)
model.predict(np.load(sys.argv[1]), verbose=0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=128, help="clips in the shard (real shards hold a few hundred)")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed-clips", type=int, default=2)
    args = parser.parse_args()

    import tensorflow as tf

    rng = np.random.default_rng(0)
    examples = [rng.normal(-2, 1, size=(args.seconds, 96, 64)).astype(np.float32) for _ in range(args.clips)]
    total = args.clips * args.seconds
    model = build_vggish(seed=0)
    forward = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec((None, 96, 64), tf.float32)])
    stacked = np.concatenate(examples)
    forward(stacked[: args.batch_size])  # trace once

    started = time.perf_counter()
    for start in range(0, total, args.batch_size):
        forward(stacked[start : start + args.batch_size]).numpy()
    bare = total / (time.perf_counter() - started)

    started = time.perf_counter()
    for clip in examples:
        forward(clip).numpy()
    per_clip_call = total / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix="embed_speed_") as tmp:
        tmp = Path(tmp)
        ids = [f"clip{i:04d}" for i in range(args.clips)]
        write_cache(tmp / "logmel.h5", ids, {"vggish_examples": examples}, {})
        (tmp / "wav").mkdir()
        for clip_id in ids:  # the embed stage reads the wavs too (a TF Hub model needs them)
            sf.write(tmp / "wav" / f"{clip_id}.wav", np.zeros(16000 * args.seconds, np.int16), 16000)
        started = time.perf_counter()
        embedding_cache(
            tmp / "logmel.h5",
            tmp / "wav",
            tmp / "vggish.h5",
            source="untrained",
            hub_handle=None,
            seed=0,
            batch_size=args.batch_size,
            threads=2,
            log=lambda _: None,
        )
        ours = total / (time.perf_counter() - started)

        np.save(tmp / "clip.npy", examples[0])
        script = tmp / "process.py"
        script.write_text(PROCESS_PER_CLIP.format(src=str(REPO / "src")))
        started = time.perf_counter()
        for _ in range(args.seed_clips):
            subprocess.run([sys.executable, str(script), str(tmp / "clip.npy")], check=True, capture_output=True)
        process_per_clip = (time.perf_counter() - started) / args.seed_clips

    print(f"bare batched forward pass: {bare:.1f} examples/s")
    print(f"ours (embedding_cache, incl. model build, cache read and write): {ours:.1f} examples/s")
    print(f"one model call per clip: {per_clip_call:.1f} examples/s; one process per clip: {process_per_clip:.1f} s per clip")
    print(
        f"embed_speed: ratio={ours / bare:.2f} ours_examples_per_s={ours:.1f} bare_examples_per_s={bare:.1f} "
        f"per_clip_call_examples_per_s={per_clip_call:.1f} process_per_clip_s={process_per_clip:.1f}"
    )


if __name__ == "__main__":
    main()
