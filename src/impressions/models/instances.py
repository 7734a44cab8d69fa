"""How one clip's cached arrays become a model's instances (the registry names one per model).

An instance is an array, or a dict of named arrays for a model with several inputs. A clip gives
one instance, or one per 0.96 s patch or window whose predictions are averaged back into the
clip's; an empty list excludes the clip (the registry entry says why).
"""

from __future__ import annotations

import numpy as np

from impressions.features.frame_functionals import frame_functionals, frame_steps
from impressions.io.cache import CacheReader

Readers = dict[str, CacheReader]
"""Cache family -> the open cache of one shard."""


def first_embeddings(readers: Readers, clip_id: str, settings: dict) -> list:
    """The VGGish head's input: the first ``seconds`` embeddings flattened (``pooling: flatten``,
    seed 000; a shorter clip gives none), or the mean and standard deviation of all the clip's
    embeddings (``pooling: mean_std``, for utterances shorter than that window)."""
    embeddings = readers["vggish"].get("embeddings", clip_id)
    if settings.get("pooling") == "mean_std":
        return [pooled_embeddings(embeddings)] if len(embeddings) else []
    seconds = settings["seconds"]
    return [embeddings[:seconds].reshape(-1)] if len(embeddings) >= seconds else []


def pooled_embeddings(embeddings: np.ndarray) -> np.ndarray:
    """Mean then standard deviation over time of (windows, 128) embeddings -> (256,), float32."""
    return np.concatenate([embeddings.mean(axis=0), embeddings.std(axis=0)]).astype(np.float32)


def real_patches(readers: Readers, clip_id: str, settings: dict) -> list:
    """Each 0.96 s log-mel patch of the clip spectrogram that comes from audio (not padding)."""
    n_real = int(readers["spectrogram"].get("n_real_seconds", clip_id)[0])
    return list(readers["spectrogram"].get("clip_spectrogram", clip_id)[:n_real])


def summary(readers: Readers, clip_id: str, settings: dict) -> list:
    """The clip's summary spectrogram."""
    return [readers["spectrogram"].get("summary_spectrogram", clip_id)]


def rawwave(readers: Readers, clip_id: str, settings: dict) -> list:
    """The clip's raw-wave FFT features."""
    return [readers["rawwave"].get("rawwave_fft", clip_id)]


def mfcc_and_frames(readers: Readers, clip_id: str, settings: dict) -> list:
    """The fusion model's two inputs: the MFCC tensor (`mfcc_tensor`) and the clip's frames."""
    audio = readers["mfcc"].get(settings.get("audio_input", "mfcc"), clip_id)
    mfcc = mfcc_tensor(audio, length=settings["mfcc_length"])
    return [{"mfcc": mfcc, "frames": readers["frames"].get("frames", clip_id)}]


def text_vector(readers: Readers, clip_id: str, settings: dict) -> list:
    """The clip's TF-IDF text vector (n_features,)."""
    return [readers["text"].get("tfidf", clip_id)[0]]


def egemaps_functionals(readers: Readers, clip_id: str, settings: dict) -> list:
    """The clip's 88 eGeMAPS functionals (88,), columns as the cache's params name them."""
    return [readers["egemaps"].get("functionals", clip_id)[0]]


def video_functionals(readers: Readers, clip_id: str, settings: dict) -> list:
    """The colour and motion functionals of the clip's frames (`frame_functionals.NAMES`)."""
    return [frame_functionals(readers["frames"].get("frames", clip_id))]


def audiovisual_functionals(readers: Readers, clip_id: str, settings: dict) -> list:
    """The clip's eGeMAPS functionals, then its frames' colour and motion functionals (88 + 18,)."""
    (audio,), (video,) = egemaps_functionals(readers, clip_id, settings), video_functionals(readers, clip_id, settings)
    return [np.concatenate([audio, video]).astype(np.float32)]


def audiovisual_functionals_and_text(readers: Readers, clip_id: str, settings: dict) -> list:
    """`audiovisual_functionals`, then the clip's TF-IDF vector: one row for an early-fusion linear model."""
    (functionals,), (text,) = audiovisual_functionals(readers, clip_id, settings), text_vector(readers, clip_id, settings)
    return [np.concatenate([functionals, text]).astype(np.float32)]


def mfcc_frames_and_text(readers: Readers, clip_id: str, settings: dict) -> list:
    """The fusion model's three inputs: `mfcc_and_frames` and the clip's TF-IDF vector."""
    (instance,) = mfcc_and_frames(readers, clip_id, settings)
    return [{**instance, "text": readers["text"].get("tfidf", clip_id)[0]}]


def windows(readers: Readers, clip_id: str, settings: dict) -> list:
    """Every 0.96 s VGGish embedding of the clip, each its own instance."""
    return list(readers["vggish"].get("embeddings", clip_id))


def mfcc_tensor(mfcc: np.ndarray, *, length: int) -> np.ndarray:
    """Seed 002's MFCC input: standardised per sample, pre-padded with zeros, (n_mfcc, length, 1).

    The clip's coefficients are scaled to zero mean and unit variance over all its values, then
    zeros are put before them up to `length` frames; a longer clip keeps its last `length`
    frames (Keras ``pad_sequences`` defaults, which the seed used).

    Parameters
    ----------
    mfcc : np.ndarray [shape=(frames, n_mfcc)], from the MFCC cache (time-major)
    length : frames of the result

    Returns
    -------
    np.ndarray [shape=(n_mfcc, length, 1), dtype=float32]
    """
    standard = (mfcc - mfcc.mean()) / (mfcc.std() + 1e-8)
    kept = standard[-length:]
    out = np.zeros((length, mfcc.shape[1]), dtype=np.float32)
    out[length - len(kept) :] = kept
    return out.T[..., np.newaxis]


def aligned_steps(readers: Readers, clip_id: str, settings: dict) -> list:
    """The aligned cache's steps of the clip: ``audio`` and ``mask``, and ``video`` and ``text`` where the dataset has them."""
    cache = readers["aligned"]
    instance = {"audio": cache.get("audio", clip_id), "mask": cache.get("mask", clip_id)}
    if cache.params["video"]:
        instance["video"] = frame_steps(cache.get("video", clip_id))
    if cache.params["text"]:
        instance["text"] = cache.get("text", clip_id)
    return [instance]


TIME_CODE_HZ = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Frequencies of the sinusoidal time code of the unaligned streams: periods of 4 s down to 0.25 s."""
MFCC_RATE = 16000
"""The sample rate of the wav stage, whose frames the MFCC cache's hop counts."""


def time_code(seconds: np.ndarray) -> np.ndarray:
    """(n, 10) float32: sin and cos of 2 pi f t for each f of `TIME_CODE_HZ`, what tells a stream's elements when they are."""
    angles = 2 * np.pi * np.asarray(seconds, dtype=np.float64)[:, None] * np.array(TIME_CODE_HZ)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32)


def padded(values: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """`values` cut or zero-padded to `length` along time, and the (length,) uint8 mask of the real ones."""
    out = np.zeros((length, *values.shape[1:]), dtype=values.dtype)
    kept = values[:length]
    out[: len(kept)] = kept
    return out, (np.arange(length) < len(kept)).astype(np.uint8)


def unaligned_streams(readers: Readers, clip_id: str, settings: dict) -> list:
    """Each modality at its own rate, each element with the time code of when it is.

    ``audio``: the clip's log-mel in dB (the MFCC cache's ``log_mel_db``, one frame every 32 ms),
    padded to the aligned cache's horizon; ``frames``: the colour and motion descriptors of the
    frame cache's frames (`frame_functionals.frame_steps`), at the centres of equal slices of the
    clip; ``tokens`` (datasets with text): the aligned cache's hashed words at the times they were
    placed, padded to ``max_tokens``. Each with ``<stream>_mask`` and ``<stream>_time``.
    """
    log_mel, aligned = readers["mfcc"].get("log_mel_db", clip_id), readers["aligned"]
    hop_s = readers["mfcc"].params["hop_length"] / MFCC_RATE
    horizon = aligned.params["max_steps"] * aligned.params["step_s"]
    audio, audio_mask = padded(log_mel, int(np.ceil(horizon / hop_s)))
    frames = frame_steps(readers["frames"].get("frames", clip_id))
    duration = (len(log_mel) - 1) * hop_s
    instance = {"audio": audio, "audio_mask": audio_mask, "audio_time": time_code(np.arange(len(audio)) * hop_s)}
    instance.update(frames=frames, frames_mask=np.ones(len(frames), np.uint8), frames_time=time_code((np.arange(len(frames)) + 0.5) * duration / len(frames)))
    if aligned.params["text"]:
        tokens, tokens_mask = padded(aligned.get("tokens", clip_id), settings["max_tokens"])
        times, _ = padded(aligned.get("token_times", clip_id), settings["max_tokens"])
        instance.update(tokens=tokens, tokens_mask=tokens_mask, tokens_time=time_code(times))
    return [instance]


def no_instances(readers: Readers, clip_id: str, settings: dict) -> list:
    """For a model that reads no cache: the ensemble reads its members' predictions instead."""
    return []


# --- what the registry entries say about their instances: builder input shapes, time steps -----


def no_shapes(instance) -> dict:
    """For a builder that takes no input shapes (the scikit-learn models)."""
    return {}


def flat_input(instance) -> dict:
    """A flat vector instance -> the builder's ``input_dim``."""
    return {"input_dim": instance.shape[0]}


def spectrogram_input(instance) -> dict:
    """A (frames, bands) instance -> the builder's ``frames`` and ``bands``."""
    frames, bands = instance.shape
    return {"frames": frames, "bands": bands}


def rawwave_input(instance) -> dict:
    """A (frames, bins) instance -> the builder's ``frames`` and ``bins``."""
    frames, bins = instance.shape
    return {"frames": frames, "bins": bins}


def fusion_inputs(instance) -> dict:
    """The fusion instance -> the builder's ``mfcc_shape`` and ``frames_shape`` (and ``text_dim``)."""
    shapes = {"mfcc_shape": tuple(instance["mfcc"].shape), "frames_shape": tuple(instance["frames"].shape)}
    return {**shapes, "text_dim": instance["text"].shape[0]} if "text" in instance else shapes


def aligned_inputs(instance) -> dict:
    """The aligned instance -> the builder's ``steps``, ``bands``, ``video_dim`` and ``text_dim`` (None without them)."""
    steps, bands = instance["audio"].shape
    video, text = instance.get("video"), instance.get("text")
    return {"steps": steps, "bands": bands, "video_dim": None if video is None else video.shape[1], "text_dim": None if text is None else text.shape[1]}


def unaligned_inputs(instance) -> dict:
    """The unaligned instance -> the builder's stream shapes (``tokens_shape`` None without text) and ``time_dim``."""
    tokens = instance.get("tokens")
    shapes = {"audio_shape": tuple(instance["audio"].shape), "frames_shape": tuple(instance["frames"].shape)}
    return {**shapes, "tokens_shape": None if tokens is None else tuple(tokens.shape), "time_dim": instance["audio_time"].shape[1]}


def step_times(instance, params: dict) -> np.ndarray:
    """Seconds of each aligned step's centre (an ``aligned_steps`` instance; ``params``: cache family -> params)."""
    return (np.arange(len(instance["mask"])) + 0.5) * params["aligned"]["step_s"]


def audio_frame_times(instance, params: dict) -> np.ndarray:
    """Seconds of each log-mel frame of an ``unaligned_streams`` instance (librosa's frames are centred on them)."""
    return np.arange(len(instance["audio_mask"])) * params["mfcc"]["hop_length"] / MFCC_RATE


def patch_frame_s(params: dict) -> float:
    """Seconds per time frame of a log-mel patch: the VGGish hop (10 ms)."""
    return params["vggish_front_end"]["hop_s"]


def summary_frame_s(params: dict) -> float:
    """Seconds per time frame of the summary spectrogram: the hop times the pooling."""
    return params["vggish_front_end"]["hop_s"] * params["summary_pool"]


def rawwave_frame_s(params: dict) -> float:
    """Seconds per frame of the raw-wave FFT features."""
    return params["hop_length"] / params["sample_rate"]
