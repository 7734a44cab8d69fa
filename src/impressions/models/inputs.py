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
    """

    def __init__(
        self,
        model: str,
        rows: pd.DataFrame,
        caches: dict[str, dict[str, str | os.PathLike]],
        settings: dict,
        task: Task = FIRST_IMPRESSIONS,
        labelled: bool = True,
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

    def clips(self, order: np.ndarray | None = None) -> Iterator[tuple[int, list]]:
        """(row index, instances) of each clip, in `order` (default: manifest order)."""
        readers: dict[str, Readers] = {}
        try:
            for index in range(len(self.rows)) if order is None else order:
                row = self.rows.iloc[index]
                if row["shard"] not in readers:
                    readers[row["shard"]] = {f: CacheReader(self.caches[f][row["shard"]]) for f in self.spec.families}
                self.reads += 1
                shard_readers, clip_id = readers[row["shard"]], row["clip_id"]
                lacking = [family for family, reader in shard_readers.items() if clip_id not in reader]
                if lacking:
                    failed = shard_readers[lacking[0]].failed
                    self.missing[clip_id] = f"{lacking[0]}: {failed.get(clip_id, 'not in the cache')}"
                    yield int(index), []
                    continue
                yield int(index), self.spec.instances(shard_readers, clip_id, self.settings)
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


def clip_predictions(source: ClipSource, predict: Callable[[np.ndarray | dict], np.ndarray], *, batch_size: int = 64):
    """Predict every clip: instances in batches, averaged per clip (patch models, KNN windows).

    Returns
    -------
    clip_ids : the clips that have instances, in manifest order
    predictions : np.ndarray [shape=(clips, outputs)]
    """
    clip_ids, predictions = [], []
    for index, instances in source.clips():
        if not instances:
            continue
        if isinstance(instances[0], dict):
            batch = {key: np.stack([i[key] for i in instances]) for key in instances[0]}
        else:
            batch = np.stack(instances)
        clip_ids.append(source.rows.iloc[index]["clip_id"])
        predictions.append(np.mean(predict(batch), axis=0))
    return clip_ids, np.array(predictions, dtype=np.float32).reshape(-1, len(source.task.outputs))


def read_sources(name: str, manifest: str | os.PathLike, caches: dict[str, list[str]], settings: dict, task: Task = FIRST_IMPRESSIONS) -> dict[str, ClipSource]:
    """One ClipSource per split of SPLITS and one for ``predict`` (the unlabelled clips, often none);
    `caches` maps each family to the paths of its shard files."""
    rows = read_manifest(manifest)
    by_shard = {family: {Path(p).stem: p for p in paths} for family, paths in caches.items()}
    sources = {split: ClipSource(name, rows[rows["split"] == split], by_shard, settings, task) for split in SPLITS}
    sources[PREDICT] = ClipSource(name, rows[rows["split"] == PREDICT], by_shard, settings, task, labelled=False)
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
