"""A model's clips, read from the shard caches clip by clip, and its predictions per split.

Each model reads one or more cache families; its registry entry says how one clip's cached
arrays become its instances (one per clip, or one per 0.96 s patch or window whose predictions
are averaged back into the clip's). `ClipSource` reads them lazily, so a split is never in
memory whole; `impressions.models.streams` turns a source into a tf.data pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from impressions import SPLITS
from impressions.data.clips import read_manifest
from impressions.io.atomic import atomic_path, write_tsv
from impressions.io.cache import CacheReader
from impressions.models import registry
from impressions.models.instances import Readers
from impressions.models.metrics import prediction_table
from impressions.models.task import FIRST_IMPRESSIONS, Task

MEMORY_MB = 2048
"""Default of ``models.memory_mb``: the most a split's instances may take to be kept in memory."""

PREDICT = "predict"
"""The split of the clips without labels (a challenge's test.csv): predicted, never scored."""


class ClipSource:
    """One split's clips of one model, read clip by clip from the shard caches.

    Parameters
    ----------
    model : a registered model (`impressions.models.registry`)
    rows : the split's manifest rows (clip_id, shard and the label columns)
    caches : family -> shard -> path of that shard's cache
    settings : the model's settings (those its instances need, e.g. ``seconds``)
    task : what the model learns; rows whose label it cannot learn (a class outside its classes)
        are left out and listed by `excluded`
    labelled : False for the ``predict`` split, whose clips have no labels to check
    memory_mb : a split whose instances take at most this many MB is kept in memory after its
        first complete pass (later epochs and predictions read no cache); a bigger one is read
        from the caches on every pass, so that memory never holds more than this
    """

    def __init__(
        self,
        model: str,
        rows: pd.DataFrame,
        caches: dict[str, dict[str, str | os.PathLike]],
        settings: dict,
        task: Task = FIRST_IMPRESSIONS,
        labelled: bool = True,
        memory_mb: float = MEMORY_MB,
    ):
        self.spec = registry.spec(model)
        self.task = task
        reasons = task.invalid(rows) if labelled else pd.Series("", index=rows.index)
        self.rejected = pd.DataFrame({"clip_id": rows["clip_id"], "split": rows["split"], "reason": reasons})[reasons != ""]
        self.rows = rows[reasons == ""].reset_index(drop=True)
        self.caches = caches
        self.settings = settings
        self.reads = 0  # clips read so far: lets a test check that reading is lazy
        self.missing: dict[str, str] = {}  # clip id -> why a cache it needs lacks it (a stage could not compute it)
        self.memory_bytes = memory_mb * 2**20
        self.kept: list[list] | None = None  # every clip's instances, once a complete pass fitted in memory_mb

    def clips(self, order: np.ndarray | None = None) -> Iterator[tuple[int, list]]:
        """(row index, instances) of each clip, in `order` (default: manifest order)."""
        indices = range(len(self.rows)) if order is None else order
        if self.kept is not None:
            for index in indices:
                yield int(index), self.kept[index]
            return
        keeping: dict[int, list] | None = {}
        size = 0
        readers: dict[str, Readers] = {}
        try:
            for index in indices:
                row = self.rows.iloc[index]
                if row["shard"] not in readers:
                    readers[row["shard"]] = {f: CacheReader(self.caches[f][row["shard"]]) for f in self.spec.families}
                self.reads += 1
                shard_readers, clip_id = readers[row["shard"]], row["clip_id"]
                lacking = [family for family, reader in shard_readers.items() if clip_id not in reader]
                if lacking:
                    failed = shard_readers[lacking[0]].failed
                    self.missing[clip_id] = f"{lacking[0]}: {failed.get(clip_id, 'not in the cache')}"
                    instances = []
                else:
                    instances = self.spec.instances(shard_readers, clip_id, self.settings)
                if keeping is not None:
                    size += sum(_nbytes(instance) for instance in instances)
                    keeping[int(index)] = instances
                    if size > self.memory_bytes:
                        keeping = None
                yield int(index), instances
            if keeping is not None and len(keeping) == len(self.rows):
                self.kept = [keeping[index] for index in range(len(self.rows))]
        finally:
            for shard_readers in readers.values():
                for reader in shard_readers.values():
                    reader.close()

    def targets(self) -> np.ndarray:
        """The clips' targets as the model learns them (`Task.encode`): scores, or one-hot classes."""
        return self.task.encode(self.rows)

    def excluded(self) -> pd.DataFrame:
        """Clips whose label the task cannot learn, and clips that give no instance, with the reason
        (one pass over the caches)."""
        empty = [index for index, instances in self.clips() if not instances]
        rows = self.rows.iloc[empty]
        reasons = [self.missing.get(clip_id, self.spec.exclusion_reason) for clip_id in rows["clip_id"]]
        no_instance = pd.DataFrame({"clip_id": rows["clip_id"], "split": rows["split"], "reason": reasons})
        return pd.concat([self.rejected, no_instance], ignore_index=True)

    def first_instance(self):
        """The first instance of the split (its shapes and dtypes define the model's input)."""
        for _, instances in self.clips():
            if instances:
                return instances[0]
        raise ValueError(f"no clip of this split gives an input ({self.spec.exclusion_reason})")


def stack(instances: list):
    """Instances as one batch: an array, or a dict of arrays for a model with several inputs."""
    if isinstance(instances[0], dict):
        return {key: np.stack([i[key] for i in instances]) for key in instances[0]}
    return np.stack(instances)


def _nbytes(instance) -> int:
    return sum(a.nbytes for a in instance.values()) if isinstance(instance, dict) else instance.nbytes


def clip_predictions(source: ClipSource, predict: Callable[[np.ndarray | dict], np.ndarray], *, batch_size: int = 256):
    """Predict every clip: instances of consecutive clips batched together (`batch_size` at most,
    and at least one whole clip), one `predict` call per batch, and the predictions averaged per
    clip (patch models, KNN windows) by segment.

    Returns
    -------
    clip_ids : the clips that have instances, in manifest order
    predictions : np.ndarray [shape=(clips, outputs)]
    """
    clip_ids, predictions, pending, owners = [], [], [], []

    def flush():
        batch = stack(pending)
        owner = np.asarray(owners) - owners[0]
        predicted = np.asarray(predict(batch), np.float64)
        sums = np.zeros((owner[-1] + 1, predicted.shape[1]))
        np.add.at(sums, owner, predicted)
        predictions.append(sums / np.bincount(owner)[:, None])
        pending.clear()
        owners.clear()

    for index, instances in source.clips():
        if not instances:
            continue
        if pending and len(pending) + len(instances) > batch_size:
            flush()
        clip_ids.append(source.rows.iloc[index]["clip_id"])
        pending.extend(instances)
        owners.extend([len(clip_ids) - 1] * len(instances))
    if pending:
        flush()
    stacked = np.concatenate(predictions) if predictions else np.zeros((0, len(source.task.outputs)))
    return clip_ids, stacked.astype(np.float32).reshape(-1, len(source.task.outputs))


def read_sources(
    name: str, manifest: str | os.PathLike, caches: dict[str, list[str]], settings: dict, task: Task = FIRST_IMPRESSIONS, memory_mb: float = MEMORY_MB
) -> dict[str, ClipSource]:
    """One ClipSource per split of SPLITS and one for ``predict`` (the unlabelled clips, often none);
    `caches` maps each family to the paths of its shard files."""
    rows = read_manifest(manifest)
    by_shard = {family: {Path(p).stem: p for p in paths} for family, paths in caches.items()}
    sources = {split: ClipSource(name, rows[rows["split"] == split], by_shard, settings, task, memory_mb=memory_mb) for split in SPLITS}
    sources[PREDICT] = ClipSource(name, rows[rows["split"] == PREDICT], by_shard, settings, task, labelled=False, memory_mb=memory_mb)
    return sources


def write_predictions(
    outputs, sources: dict[str, ClipSource], predict: Callable, excluded: pd.DataFrame, *, back: Callable[[np.ndarray], np.ndarray] = lambda y: y, log=print
) -> None:
    """Write the model's excluded clips, one predictions table per split and, when `outputs` has
    ``predict``, the predictions of the unlabelled clips (no true values).

    `predict` maps a batch of one clip's instances to predictions (scores, or class
    probabilities), averaged per clip; `back` undoes the target scaling the model was trained with.
    """
    write_tsv(outputs.excluded, excluded)
    for row in excluded.itertuples():
        log(f"excluded {row.clip_id} ({row.split}): {row.reason}")
    for split, path in zip(SPLITS, outputs.predictions):
        source = sources[split]
        clip_ids, predicted = clip_predictions(source, predict)
        predicted = back(predicted)
        truth = source.task.encode(source.rows.set_index("clip_id").loc[clip_ids])
        with atomic_path(path) as tmp:
            prediction_table(clip_ids, truth, predicted, source.task).to_csv(tmp, index=False, float_format="%.6f")
        log(f"{split}: predicted {len(clip_ids)} clips")
    if getattr(outputs, PREDICT, None):
        clip_ids, predicted = clip_predictions(sources[PREDICT], predict)
        with atomic_path(outputs.predict) as tmp:
            prediction_table(clip_ids, None, back(predicted), sources[PREDICT].task).to_csv(tmp, index=False, float_format="%.6f")
        log(f"{PREDICT}: predicted {len(clip_ids)} unlabelled clips")
