"""Speed of training's input pipeline against the model's step rate, and of batched prediction.

Run after the workflow has built a dataset's caches (`bin/run`, or `bin/run --until mfcc_length
spectrograms rawwave frames embed`). For each Keras model, in one process on the same caches:
- first pass: instances per second of reading the training split from the caches (once);
- input: instances per second of the training stream over several epochs once the split is kept
  in memory (as in every epoch of training, reshuffled each time), with nothing to train;
- step: instances per second of the model's training steps on one batch repeated (no input cost);
- prediction: every training clip predicted one `model.predict` per clip (the old way) and
  batched across clips (`clip_predictions`), with the predictions compared.

    .venv/bin/python bench/training_speed.py [--dataset synthetic_fi] [--models clip_cnn fusion] [--steps 30]

One line per model: ``training_speed: model=<m> input_per_s=.. step_per_s=.. input_to_step=..
first_pass_per_s=.. predict_per_clip_ms=.. predict_batched_ms=.. predict_speedup=..``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from impressions.io.tf_runtime import use_threads  # noqa: E402
from impressions.models import registry  # noqa: E402
from impressions.models.inputs import clip_predictions, read_sources, stack  # noqa: E402
from impressions.models.streams import dataset  # noqa: E402
from impressions.models.train import LOSSES, TargetScale, _builder_kwargs, adapt_standardization, seed_everything  # noqa: E402


def model_settings(name: str, results: Path) -> dict:
    settings = dict(yaml.safe_load((REPO / "config.yaml").read_text())["models"][name])
    if "mfcc_length" in registry.spec(name).input_settings:
        settings["mfcc_length"] = json.loads((results / "features" / "mfcc_length.json").read_text())["frames"]
    if settings.get("pooling") == "auto":
        settings["pooling"] = "flatten"
    return settings


@tf.function
def count_batches(stream: tf.data.Dataset) -> tf.Tensor:
    """Every batch of `stream` made in TensorFlow's runtime, as fit consumes them (no Python per batch)."""
    count = tf.constant(0, tf.int64)
    for _ in stream:
        count += 1
    return count


def per_second(count: int, seconds: float) -> float:
    return count / max(seconds, 1e-9)


def bench(name: str, results: Path, steps: int) -> str:
    settings = model_settings(name, results)
    spec = registry.spec(name)
    caches = {family: sorted(str(p) for p in (results / "features" / family).glob("*.h5")) for family in spec.families}
    sources = read_sources(name, results / "manifest.tsv", caches, settings)
    train = sources["train"]
    scale = TargetScale(train.targets(), settings["standardize_targets"])
    start = time.perf_counter()
    instances = sum(len(clip) for _, clip in train.clips())
    first_pass = per_second(instances, time.perf_counter() - start)
    if train.kept is None:
        sys.exit(f"training_speed: the training split of {name} is bigger than models.memory_mb; nothing is kept in memory")
    stream = dataset(
        train, targets=scale.forward(train.targets()), batch_size=settings["batch_size"], shuffle=True, seed=0, shuffle_buffer=settings["shuffle_buffer"]
    )
    epochs = max(3, -(-steps * settings["batch_size"] // instances))  # at least as many instances as the steps take
    repeated_epochs = stream.repeat(epochs)  # reshuffled every epoch, as in training
    count_batches(repeated_epochs)  # traced once
    start = time.perf_counter()
    count_batches(repeated_epochs)
    in_memory = per_second(epochs * instances, time.perf_counter() - start)

    model = spec.build(**_builder_kwargs(spec, settings, train.first_instance(), 0), n_outputs=5)
    adapt_standardization(model, stream)
    model.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]), loss=LOSSES[settings["loss"]]())
    batch = next(iter(stream))
    repeated = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(repeated, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(repeated, steps_per_epoch=steps, epochs=1, verbose=0)
    step = per_second(steps * settings["batch_size"], time.perf_counter() - start)

    def predict(x):
        return model.predict(x, verbose=0)

    start = time.perf_counter()

    old = [np.mean(predict(stack(instances)), axis=0) for _, instances in train.clips() if instances]
    per_clip = (time.perf_counter() - start) * 1000 / len(old)
    start = time.perf_counter()
    _, batched = clip_predictions(train, predict)
    batched_ms = (time.perf_counter() - start) * 1000 / len(old)
    np.testing.assert_allclose(batched, np.array(old), rtol=1e-4, atol=1e-5)
    return (
        f"training_speed: model={name} input_per_s={in_memory:.0f} step_per_s={step:.0f} input_to_step={in_memory / step:.1f} "
        f"first_pass_per_s={first_pass:.0f} predict_per_clip_ms={per_clip:.1f} predict_batched_ms={batched_ms:.1f} "
        f"predict_speedup={per_clip / batched_ms:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="synthetic_fi", help="a dataset under results/ whose caches are built (a regression dataset)")
    parser.add_argument("--models", nargs="+", default=[s.name for s in registry.MODELS.values() if s.framework == "keras" and "text" not in s.families])
    parser.add_argument("--steps", type=int, default=30, help="training steps timed per model")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    results = REPO / "results" / args.dataset
    if not (results / "manifest.tsv").exists():
        sys.exit(f"training_speed: no {results / 'manifest.tsv'}; build the caches first (bin/run --until mfcc_length spectrograms rawwave frames embed)")
    use_threads(args.threads)
    seed_everything(0)
    for name in args.models:
        print(bench(name, results, args.steps), flush=True)


if __name__ == "__main__":
    main()
