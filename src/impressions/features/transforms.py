"""Audio features computed from a 16 kHz mono waveform: the VGGish log-mel front end, the
spectrograms built from it, MFCCs and the log-mel spectrogram in dB, and raw-wave FFT features.

The VGGish front end reproduces, number for number, the AudioSet reference
(``vggish_input.waveform_to_examples`` and ``mel_features.py`` in tensorflow/models,
research/audioset), so that a network trained on reference features - including the released
VGGish checkpoint - sees the same inputs here. Resampling and down-mixing are not done here:
the ``wav`` stage already wrote 16 kHz mono with ffmpeg, and a waveform that is not must fail
loudly rather than be silently resampled a second time.

Every feature is returned time-major, ``(frames, bands)``: the convention of all our caches and
model inputs.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np

VGGISH_FRONT_END = {
    "sample_rate": 16000,
    "window_s": 0.025,
    "hop_s": 0.010,
    "window": "periodic_hann",
    "spectrum": "magnitude",
    "fft_length": 512,
    "mel_scale": "htk",
    "n_mels": 64,
    "fmin": 125.0,
    "fmax": 7500.0,
    "log_offset": 0.01,
    "example_frames": 96,
    "example_hop_frames": 96,
}
"""Every parameter of the VGGish front end (``vggish_params.py``), written into cache attributes."""

_WINDOW = round(VGGISH_FRONT_END["sample_rate"] * VGGISH_FRONT_END["window_s"])  # 400 samples
_HOP = round(VGGISH_FRONT_END["sample_rate"] * VGGISH_FRONT_END["hop_s"])  # 160 samples
_N_MFCC_MAX = 128  # librosa.feature.mfcc computes n_mfcc DCT coefficients of 128 mel bands


def vggish_log_mel(waveform: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
    """Log-mel spectrogram of a waveform, exactly as the AudioSet VGGish front end computes it.

    Frames of 25 ms (400 samples) every 10 ms (160 samples) are weighted by a periodic Hann
    window, transformed by a 512-point real FFT, reduced to their magnitude, projected onto 64
    HTK-mel bands between 125 and 7500 Hz, and mapped through ``log(mel + 0.01)``. Trailing
    samples that do not fill a whole frame are dropped, as in the reference.

    Parameters
    ----------
    waveform : np.ndarray [shape=(samples,)]
        Mono audio, floating point, nominally in [-1, 1].
    sample_rate : int
        Sampling rate of `waveform`; must be 16000 (resample upstream with ffmpeg).

    Returns
    -------
    log_mel : np.ndarray [shape=(frames, 64), dtype=float32]
        ``frames = 1 + (samples - 400) // 160``, or 0 when `waveform` is shorter than 400.

    Raises
    ------
    ValueError
        If `sample_rate` is not 16000, or `waveform` is not a finite 1-D floating-point array.

    Examples
    --------
    >>> vggish_log_mel(np.zeros(16000, dtype=np.float32)).shape
    (98, 64)
    """
    y = _valid_vggish_waveform(waveform, sample_rate)
    n_mels = VGGISH_FRONT_END["n_mels"]
    if len(y) < _WINDOW:
        return np.zeros((0, n_mels), dtype=np.float32)
    # Computed in float64, like the reference, then stored as float32.
    frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float64), _WINDOW)[::_HOP]
    windowed = frames * _periodic_hann(_WINDOW)
    spectrum = np.abs(np.fft.rfft(windowed, n=VGGISH_FRONT_END["fft_length"]))
    mel = spectrum @ _vggish_mel_matrix()
    return np.log(mel + VGGISH_FRONT_END["log_offset"]).astype(np.float32)


def vggish_examples(waveform: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
    """VGGish input examples: log-mel frames in non-overlapping patches of 0.96 s.

    Each example is 96 frames x 64 bands; examples start every 96 frames, and a last, incomplete
    example is dropped (as ``vggish_input.waveform_to_examples`` does), so 5.0 s of audio gives 5
    examples and 0.5 s gives none.

    Parameters
    ----------
    waveform : np.ndarray [shape=(samples,)]
        Mono audio, floating point, nominally in [-1, 1].
    sample_rate : int
        Sampling rate of `waveform`; must be 16000.

    Returns
    -------
    examples : np.ndarray [shape=(n_examples, 96, 64), dtype=float32]

    Raises
    ------
    ValueError
        If `sample_rate` is not 16000, or `waveform` is not a finite 1-D floating-point array.

    Examples
    --------
    >>> vggish_examples(np.zeros(5 * 16000, dtype=np.float32)).shape
    (5, 96, 64)
    """
    log_mel = vggish_log_mel(waveform, sample_rate=sample_rate)
    size, hop = VGGISH_FRONT_END["example_frames"], VGGISH_FRONT_END["example_hop_frames"]
    if len(log_mel) < size:
        return np.zeros((0, size, log_mel.shape[1]), dtype=np.float32)
    patches = np.lib.stride_tricks.sliding_window_view(log_mel, size, axis=0)[::hop]
    # sliding_window_view puts the window axis last: (n, bands, frames) -> (n, frames, bands).
    return np.ascontiguousarray(patches.transpose(0, 2, 1))


def log_mel_db(waveform: np.ndarray, *, sample_rate: int = 16000, n_mels: int = 128) -> np.ndarray:
    """Log-mel power spectrogram in dB (seed 002's spectrogram option), time-major.

    ``librosa.power_to_db(librosa.feature.melspectrogram(y, sr, n_mels))`` with librosa's
    defaults otherwise (centred 2048-sample frames, hop 512): the same frames as `mfcc`, which
    is the DCT of this spectrogram.

    Returns
    -------
    np.ndarray [shape=(frames, n_mels), dtype=float32], ``frames = 1 + samples // 512``
    """
    y = _valid_waveform(waveform)
    if y.size == 0:
        raise ValueError("waveform is empty; a spectrogram needs at least one sample")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    power = librosa.feature.melspectrogram(y=y, sr=int(sample_rate), n_mels=int(n_mels))
    return np.ascontiguousarray(librosa.power_to_db(power).T, dtype=np.float32)


def mfcc(waveform: np.ndarray, *, sample_rate: int = 16000, n_mfcc: int = 24, log_mel: np.ndarray | None = None) -> np.ndarray:
    """Mel-frequency cepstral coefficients, time-major, with librosa's defaults otherwise.

    A thin wrapper of ``librosa.feature.mfcc`` (centred 2048-sample frames, hop 512, 128 mel
    bands, orthonormal DCT-II) that validates its input and transposes librosa's
    ``(n_mfcc, t)`` into our cache convention ``(t, n_mfcc)``.

    Parameters
    ----------
    waveform : np.ndarray [shape=(samples,)]
        Mono audio, floating point, nominally in [-1, 1]; at least one sample.
    sample_rate : int
        Sampling rate of `waveform` in Hz.
    n_mfcc : int
        Number of coefficients, 1 to 128.
    log_mel : np.ndarray [shape=(frames, 128)], optional
        `log_mel_db` of the same waveform, when the caller has it already: librosa then only
        takes the DCT, with the same result.

    Returns
    -------
    mfcc : np.ndarray [shape=(frames, n_mfcc), dtype=float32]
        ``frames = 1 + samples // 512`` (librosa pads half a frame at each end).

    Raises
    ------
    ValueError
        If `waveform` is not a finite, non-empty 1-D floating-point array, `sample_rate` is not
        positive, or `n_mfcc` is out of range.

    Examples
    --------
    >>> mfcc(np.zeros(16000, dtype=np.float32)).shape
    (32, 24)
    """
    y = _valid_waveform(waveform)
    if y.size == 0:
        raise ValueError("waveform is empty; MFCCs need at least one sample")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    if not isinstance(n_mfcc, (int, np.integer)) or not 1 <= n_mfcc <= _N_MFCC_MAX:
        raise ValueError(f"n_mfcc must be an integer from 1 to {_N_MFCC_MAX}, got {n_mfcc!r}")
    if log_mel is None:
        coefficients = librosa.feature.mfcc(y=y, sr=int(sample_rate), n_mfcc=int(n_mfcc))
    else:
        coefficients = librosa.feature.mfcc(S=np.asarray(log_mel).T, n_mfcc=int(n_mfcc))
    return np.ascontiguousarray(coefficients.T, dtype=np.float32)


def htk_mel_matrix(
    *,
    n_fft_bins: int = 257,
    sample_rate: int = 16000,
    n_mels: int = 64,
    fmin: float = 125.0,
    fmax: float = 7500.0,
) -> np.ndarray:
    """Matrix that maps a linear magnitude spectrum onto HTK-mel bands, as VGGish builds it.

    Follows ``mel_features.spectrogram_to_mel_matrix``: band edges are equally spaced in HTK mel
    (``1127 ln(1 + f / 700)``), each band is a triangle in mel space evaluated at the FFT bin
    frequencies (unlike librosa, which builds triangles in Hz and normalises their area), and
    the DC bin gets zero weight so that a DC offset does not leak into the lowest band.

    Parameters
    ----------
    n_fft_bins : int
        Number of rfft bins, ``fft_length // 2 + 1``, spanning 0 Hz to Nyquist.
    sample_rate : int
        Sampling rate in Hz.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lower edge of the first band and upper edge of the last band, in Hz.

    Returns
    -------
    weights : np.ndarray [shape=(n_fft_bins, n_mels), dtype=float64]
        ``spectrum @ weights`` is the mel spectrum.

    Raises
    ------
    ValueError
        If the sizes are not positive or the edges do not satisfy ``0 <= fmin < fmax <= Nyquist``.
    """
    nyquist = sample_rate / 2.0
    if n_fft_bins < 2 or n_mels < 1:
        raise ValueError(f"need n_fft_bins >= 2 and n_mels >= 1, got {n_fft_bins} and {n_mels}")
    if not 0.0 <= fmin < fmax <= nyquist:
        raise ValueError(f"need 0 <= fmin < fmax <= Nyquist ({nyquist} Hz), got fmin={fmin}, fmax={fmax}")
    bin_mel = _hz_to_htk_mel(np.linspace(0.0, nyquist, n_fft_bins))[:, np.newaxis]
    edges = _htk_mel_edges(fmin, fmax, n_mels)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (centre - lower)
    falling = (upper - bin_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def _hz_to_htk_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def _htk_mel_edges(fmin: float, fmax: float, n_mels: int) -> np.ndarray:
    """The n_mels + 2 band edges, equally spaced in HTK mel: band b spans edges[b]..edges[b + 2]."""
    return np.linspace(_hz_to_htk_mel(fmin), _hz_to_htk_mel(fmax), n_mels + 2)


def vggish_band_edges() -> np.ndarray:
    """Edges of the VGGish mel bands in Hz, (n_mels + 2,): band b rises from edges[b], peaks at
    edges[b + 1] and falls to edges[b + 2] (what a spectrogram's band axis means in Hz)."""
    mels = _htk_mel_edges(VGGISH_FRONT_END["fmin"], VGGISH_FRONT_END["fmax"], VGGISH_FRONT_END["n_mels"])
    return 700.0 * np.expm1(mels / 1127.0)


def _periodic_hann(length: int) -> np.ndarray:
    """Hann window of period `length` (``np.hanning(length + 1)[:-1]``), as VGGish uses."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


@functools.cache
def _vggish_mel_matrix() -> np.ndarray:
    """The fixed VGGish mel matrix, built once per process and frozen against edits."""
    weights = htk_mel_matrix(
        n_fft_bins=VGGISH_FRONT_END["fft_length"] // 2 + 1,
        sample_rate=VGGISH_FRONT_END["sample_rate"],
        n_mels=VGGISH_FRONT_END["n_mels"],
        fmin=VGGISH_FRONT_END["fmin"],
        fmax=VGGISH_FRONT_END["fmax"],
    )
    weights.setflags(write=False)
    return weights


def _valid_vggish_waveform(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    expected = VGGISH_FRONT_END["sample_rate"]
    if sample_rate != expected:
        raise ValueError(f"VGGish needs {expected} Hz audio, got sample_rate={sample_rate!r}; resample upstream (the wav stage does it with ffmpeg)")
    return _valid_waveform(waveform)


def _valid_waveform(waveform: np.ndarray) -> np.ndarray:
    """Check that `waveform` is finite, mono and floating point; return it as an array."""
    y = np.asarray(waveform)
    if y.ndim != 1:
        raise ValueError(f"waveform must be mono, shape (samples,), got shape {y.shape}; down-mix upstream (the wav stage does it with ffmpeg)")
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"waveform must be floating point in [-1, 1], got dtype {y.dtype}; for 16-bit PCM divide by 32768")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"waveform has {np.count_nonzero(~np.isfinite(y))} non-finite samples")
    return y


LOG_MEL_FLOOR = float(np.log(VGGISH_FRONT_END["log_offset"]))
"""The VGGish log-mel value of silence, log(0 + 0.01): what missing seconds are padded with."""


def clip_spectrogram(examples: np.ndarray, *, seconds: int) -> tuple[np.ndarray, int]:
    """Seed 001's clip spectrogram: the first `seconds` VGGish log-mel patches of a clip.

    Parameters
    ----------
    examples : np.ndarray [shape=(N, 96, 64)]
        `vggish_examples` of the clip (one patch per 0.96 s).
    seconds : int
        Patches kept; a shorter clip is padded at the end with silence (`LOG_MEL_FLOOR`).

    Returns
    -------
    patches : np.ndarray [shape=(seconds, 96, 64), dtype=float32]
    n_real : int
        How many patches come from the clip (the rest is padding).
    """
    if seconds < 1:
        raise ValueError(f"seconds must be at least 1, got {seconds}")
    n_real = min(len(examples), seconds)
    patches = np.full((seconds, *examples.shape[1:]), LOG_MEL_FLOOR, dtype=np.float32)
    patches[:n_real] = examples[:n_real]
    return patches, n_real


def summary_spectrogram(patches: np.ndarray, *, pool: int = 6) -> np.ndarray:
    """Seed 001's summary spectrogram: patches laid end to end in time, average-pooled.

    13 patches of 96 frames give 1248 x 64, which pooling over 6 frames (60 ms) turns into
    208 x 64.

    Parameters
    ----------
    patches : np.ndarray [shape=(seconds, 96, 64)], from `clip_spectrogram`
    pool : int
        Frames averaged into one; must divide 96.

    Returns
    -------
    np.ndarray [shape=(seconds * 96 // pool, 64), dtype=float32]
    """
    frames = patches.reshape(-1, patches.shape[-1])
    if pool < 1 or patches.shape[1] % pool:
        raise ValueError(f"pool must divide the {patches.shape[1]} frames of a patch, got {pool}")
    return frames.reshape(-1, pool, frames.shape[-1]).mean(axis=1, dtype=np.float64).astype(np.float32)


RAWWAVE = {"sample_rate": 4000, "n_fft": 256, "hop_length": 128, "window": "hann", "spectrum": "log(1 + magnitude)"}
"""Parameters of the raw-wave FFT features (seed 001's 1-D CAM CNN input)."""


def rawwave_fft(
    waveform: np.ndarray,
    *,
    sample_rate: int = 16000,
    seconds: float = 13.0,
    target_rate: int = 4000,
    n_fft: int = 256,
    hop_length: int = 128,
) -> tuple[np.ndarray, int]:
    """Seed 001's raw-wave features: 4 kHz audio turned into normalised FFT frequency bins.

    The first `seconds` of audio are resampled to `target_rate` (soxr, through librosa), cut
    into Hann-windowed frames of `n_fft` samples every `hop_length`, and each frame's magnitude
    spectrum becomes ``log(1 + |X|)``. The clip's features are then standardised (zero mean,
    unit variance over all its values) and padded with zeros (the mean) to a fixed length.

    Returns
    -------
    features : np.ndarray [shape=(frames, n_fft // 2 + 1), dtype=float32]
        ``frames = 1 + (seconds * target_rate - n_fft) // hop_length``; time on the first axis,
        frequency bins as channels (the 1-D CNN convolves over time).
    n_real : int
        Frames computed from audio (the rest is padding).
    """
    y = _valid_waveform(waveform)
    n_frames = 1 + (int(seconds * target_rate) - n_fft) // hop_length
    if n_frames < 1:
        raise ValueError(f"{seconds} s at {target_rate} Hz hold no frame of {n_fft} samples")
    low = librosa.resample(y[: int(seconds * sample_rate)], orig_sr=sample_rate, target_sr=target_rate, res_type="soxr_hq")
    if len(low) >= n_fft:
        frames = np.lib.stride_tricks.sliding_window_view(low, n_fft)[::hop_length][:n_frames]
        spectrum = np.log1p(np.abs(np.fft.rfft(frames * np.hanning(n_fft + 1)[:-1], axis=1)))
    else:
        spectrum = np.zeros((0, n_fft // 2 + 1))
    features = np.zeros((n_frames, n_fft // 2 + 1), dtype=np.float32)
    if len(spectrum):
        features[: len(spectrum)] = (spectrum - spectrum.mean()) / (spectrum.std() + 1e-8)
    return features, len(spectrum)
