"""A served model's answer to one uploaded clip: what it heard, what it predicted, where, and how fast.

The clip goes the pipeline's way: ffprobe decides whether it is usable (the probe stage's rule,
plus the page's longest duration), ffmpeg decodes its first audio stream to 16 kHz mono wav (the
wav stage), the families are computed by the stages' per-clip functions, the registry's instance
functions make the model's inputs, and the prediction is averaged over instances and scaled back
as `impressions.models.inputs.write_predictions` does.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from impressions.cam.maps import clip_cam, normalise
from impressions.cam.stage import envelope
from impressions.data.manifest import media_reason
from impressions.data.media import MediaError, decode_wav, probe, sample_frames
from impressions.io.errors import InputError
from impressions.io.wav import read_wav
from impressions.models import registry
from impressions.models.inputs import stack
from impressions.models.train import softmax
from impressions.web.features import CLIP_ID, Clip, family_readers
from impressions.web.images import cam_png, data_url, frame_png
from impressions.web.runs import ServedModel

WAVEFORM_POINTS = 800
"""Columns of the waveform the page draws (the minimum and maximum of each)."""
FRAMES = {"count": 6, "height": 90, "width": 160}
"""The frames of a video clip the page shows beside its waveform: evenly spaced, as the frames stage takes them."""


class UploadError(InputError):
    """An upload the page cannot answer; `status` is the HTTP status, the message is for the page."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Timings:
    """Milliseconds per step, in the order the steps ran."""

    def __init__(self):
        self.steps: list[dict] = []

    @contextmanager
    def __call__(self, step: str):
        start = time.perf_counter()
        yield
        self.steps.append({"step": step, "ms": round((time.perf_counter() - start) * 1000, 1)})


def usable(path: Path, *, min_duration_s: float, max_duration_s: float) -> dict:
    """The probe of an upload, or an UploadError that says why it cannot be used.

    A container that does not say how long its audio is (a browser's recording: WebM from
    MediaRecorder) has its length checked once decoded (`check_length`).
    """
    if path.stat().st_size == 0:
        raise UploadError("the file is empty", 400)
    try:
        found = probe(path).as_row()
    except MediaError:
        raise UploadError("this is not a media file that ffmpeg can read (upload mp4, webm, wav, mp3, flac or m4a)", 415) from None
    if not (found["has_audio"] and found["audio_duration_s"] == 0):
        check_length(found, min_duration_s=min_duration_s, max_duration_s=max_duration_s)
    return found


def check_length(found: dict, *, min_duration_s: float, max_duration_s: float) -> None:
    """Refuse a probed clip without audio, or with audio shorter than the dataset's shortest
    (the probe stage's rule) or longer than the page's longest."""
    reason = media_reason(found, min_duration_s)
    if reason:
        raise UploadError(f"the clip cannot be used: {reason}", 422)
    if found["audio_duration_s"] > max_duration_s:
        raise UploadError(f"the clip cannot be used: too long, audio {found['audio_duration_s']:.2f} s > {max_duration_s:g} s", 422)


def waveform_outline(waveform: np.ndarray, points: int = WAVEFORM_POINTS) -> dict:
    """The waveform as the minimum and maximum of `points` equal spans (what a canvas draws)."""
    spans = np.array_split(waveform, min(points, len(waveform)))
    return {"min": [round(float(s.min()), 4) for s in spans], "max": [round(float(s.max()), 4) for s in spans]}


def predict(served: ServedModel, instances: list) -> np.ndarray:
    """The clip's prediction: every instance in one batch, averaged, then scaled back (regression)."""
    with served.lock:
        outputs = served.model.predict(stack(instances), verbose=0)
    outputs = softmax(outputs) if served.task.classification else outputs
    mean = np.asarray(outputs, np.float64).mean(axis=0).astype(np.float32)
    return mean if served.task.classification else served.scale.back(mean[np.newaxis])[0]


def scores(served: ServedModel, predicted: np.ndarray) -> list[dict]:
    """Each output's value; a trait's also against the training split's labels (percentile, quartiles)."""
    if served.task.classification:
        return [{"output": name, "probability": float(p)} for name, p in zip(served.task.outputs, predicted)]
    rows = []
    for name, value in zip(served.task.outputs, predicted):
        train = served.train[name].to_numpy(np.float64)
        quantiles = np.quantile(train, [0.0, 0.25, 0.5, 0.75, 1.0])
        rows.append({"output": name, "value": float(value), "percentile": float(np.mean(train <= value) * 100), "train_quantiles": quantiles.round(4).tolist()})
    return rows


def cam_maps(served: ServedModel, instances: list, wav: Path) -> dict:
    """A CAM model's map of every output (in output order) over the clip's input, as PNG images,
    with its identity error."""
    cam = served.cam
    with served.lock:
        maps = clip_cam(cam.model, cam.kernel, cam.bias, instances, cam.view)
    (family,) = registry.spec(served.name).families
    display = maps.display if cam.view.spectrogram else envelope(wav, served.params[family], len(maps.display))
    images = []
    for t, name in enumerate(served.task.outputs):
        png = cam_png(display, normalise(maps.maps[..., t]), spectrogram=cam.view.spectrogram)
        images.append({"output": name, "image": data_url(png)})
    return {"images": images, "identity_error": maps.identity_error, "seconds": len(maps.display) * cam.view.frame_s, "spectrogram": cam.view.spectrogram}


def answer(served: ServedModel, upload: Path, *, max_duration_s: float) -> dict:
    """Everything the page shows for one upload (in the folder of `upload`, which the caller deletes).

    A video's frames are taken by ffmpeg in a thread beside the rest (its ``shown_frames`` step is that
    thread's own time); the answer waits for it, so nothing reads the upload once it is returned.
    """
    timed = Timings()
    started = time.perf_counter()
    with timed("probe"):
        found = usable(upload, min_duration_s=served.min_duration_s, max_duration_s=max_duration_s)
    with ThreadPoolExecutor(1) as beside:
        frames = beside.submit(shown_frames, upload, found) if found["has_video"] else None
        result = _predicted(served, upload, found, timed, max_duration_s)
        if frames is not None:
            result["frames"], frames_ms = frames.result()
            timed.steps.append({"step": "shown_frames", "ms": frames_ms})
    timed.steps.append({"step": "total", "ms": round((time.perf_counter() - started) * 1000, 1)})
    result["timings"] = timed.steps
    return result


def _predicted(served: ServedModel, upload: Path, found: dict, timed: Timings, max_duration_s: float) -> dict:
    """The upload decoded, its features, the prediction and (a CAM model) the maps, each step timed."""
    wav = upload.with_name("clip.wav")
    with timed("decode"):
        try:
            decode_wav(upload, wav, sample_rate=served.sample_rate)
        except MediaError:
            raise UploadError("the clip's audio could not be decoded", 422) from None
        waveform, rate = read_wav(wav)
    if found["audio_duration_s"] == 0:
        found = {**found, "audio_duration_s": len(waveform) / rate, "duration_s": len(waveform) / rate}
        check_length(found, min_duration_s=served.min_duration_s, max_duration_s=max_duration_s)
    clip = Clip(waveform, rate, upload, found["duration_s"], found["fps"], found["has_video"])
    try:
        readers = family_readers(clip, served.params, served.vggish, timed)
    except ValueError as error:
        raise UploadError(f"the clip cannot be used: {error}", 422) from None
    spec = registry.spec(served.name)
    with timed("instances"):
        instances = spec.instances(readers, CLIP_ID, served.settings)
    if not instances:
        raise UploadError(f"the clip cannot be used by {served.name}: {spec.exclusion_reason}", 422)
    with timed("predict"):
        predicted = predict(served, instances)
    result = {
        "dataset": served.dataset,
        "model": served.name,
        "task": served.task.type,
        "clip": {key: found[key] for key in ("duration_s", "audio_duration_s", "has_video", "audio_rate", "audio_channels")},
        "waveform": {"seconds": len(waveform) / rate, **waveform_outline(waveform)},
        "scores": scores(served, predicted),
        "weights": weights(served),
        "cam": None,
        "frames": [],
    }
    if served.task.classification:
        result["predicted_class"] = served.task.outputs[int(np.argmax(predicted))]
    if served.cam is not None:
        with timed("cam"):
            result["cam"] = cam_maps(served, instances, wav)
    return result


def shown_frames(upload: Path, found: dict) -> tuple[list[str], float]:
    """The clip's frames at the centres of equal slices (the frames stage's choice), as PNG data
    URLs (none when ffmpeg cannot decode them: the answer does not need them), and the milliseconds
    they took."""
    start = time.perf_counter()
    try:
        frames = [data_url(frame_png(frame)) for frame in sample_frames(upload, duration_s=found["duration_s"], fps=found["fps"], **FRAMES)]
    except MediaError:
        frames = []
    return frames, round((time.perf_counter() - start) * 1000, 1)


def weights(served: ServedModel) -> dict:
    """Which model and weights answered, and the untrained-VGGish warning (as the summary page says it)."""
    embedder = served.embedder
    shown = {"model": served.key, "file": served.weights, "vggish": embedder.get("description", "this run has no VGGish cache"), "warning": ""}
    if embedder and not embedder.get("pretrained", False):
        user = f"{served.name} reads them" if served.reads_vggish else f"{served.name} does not read them"
        shown["warning"] = (
            f"WARNING: VGGish ran WITHOUT pretrained weights. {embedder.get('description', '')}. "
            f"Its embeddings are random projections of the log-mel spectrogram, not AudioSet features ({user})."
        )
    return shown
