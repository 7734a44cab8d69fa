"""Figures of the class activation maps: a gallery per trait and the per-trait profiles.

Maps are drawn normalised to [0, 1] per clip over the input they explain: the log-mel
spectrogram (time on x, mel band on y, labelled in Hz) or, for the 1-D raw-wave model, the
waveform's RMS envelope. Where the synthetic generator hid a trait's cue, the figures outline it.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from impressions.cam.maps import CamView, band_centres_hz  # noqa: E402

COLUMNS = 4
CMAP = "jet"
TICK_HZ = (250, 500, 1000, 2000, 4000)


def _band_ticks(ax) -> None:
    """Label the mel-band axis with the bands nearest to a few round frequencies."""
    centres = band_centres_hz()
    bands = [int(np.argmin(np.abs(centres - hz))) for hz in TICK_HZ]
    ax.set_yticks([b + 0.5 for b in bands], [f"{hz:g}" for hz in TICK_HZ])


def _overlay(ax, cam: np.ndarray, extent, *, binarize: bool, threshold: float):
    """Draw a normalised map: translucent colours, or the seed's binarised view (map >= threshold)."""
    if binarize:
        mask = np.where(cam >= threshold, 1.0, np.nan)
        return ax.imshow(mask, origin="lower", aspect="auto", extent=extent, cmap="autumn", alpha=0.55, vmin=0, vmax=1, interpolation="nearest")
    return ax.imshow(cam, origin="lower", aspect="auto", extent=extent, cmap=CMAP, alpha=0.45, vmin=0, vmax=1)


def gallery(
    entries: list[dict], *, model: str, trait: str, splits: str, view: CamView, band: dict | None = None, binarize: bool = False, threshold: float = 0.8
) -> Figure:
    """The top clips of one trait, best first, each input with its normalised CAM laid over it.

    Parameters
    ----------
    entries : one dict per clip: ``clip_id``, ``rank`` (1-based), ``prediction``, ``label``,
        ``display`` (time, bands) spectrogram or (time,) envelope, ``cam`` normalised map of the
        same time length
    splits : the splits the clips were ranked in (for the title)
    band : the hidden cue to outline (``low_hz``, ``high_hz``, ``start_s``, ``end_s``), or None
    """
    rows = max(1, math.ceil(len(entries) / COLUMNS))
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(3.6 * COLUMNS, 2.3 * rows + 0.9), squeeze=False, layout="constrained")
    image = None
    for ax, entry in zip(axes.flat, entries):
        duration = len(entry["display"]) * view.frame_s
        if view.spectrogram:
            extent = (0, duration, 0, entry["display"].shape[1])
            ax.imshow(entry["display"].T, origin="lower", aspect="auto", extent=extent, cmap="gray")
            image = _overlay(ax, entry["cam"].T, extent, binarize=binarize, threshold=threshold)
            _band_ticks(ax)
            if band is not None:
                centres = band_centres_hz()
                low, high = np.searchsorted(centres, band["low_hz"]), np.searchsorted(centres, band["high_hz"], side="right")
                ax.add_patch(Rectangle((band["start_s"], low), band["end_s"] - band["start_s"], high - low, fill=False, ec="white", ls="--", lw=1.2))
        else:
            top = float(entry["display"].max()) * 1.1 or 1.0
            extent = (0, duration, 0, top)
            image = _overlay(ax, entry["cam"][np.newaxis, :], extent, binarize=binarize, threshold=threshold)
            ax.plot((np.arange(len(entry["display"])) + 0.5) * view.frame_s, entry["display"], color="black", lw=0.8)
            ax.set_ylim(0, top)
            if band is not None:
                for at in (band["start_s"], band["end_s"]):
                    ax.axvline(at, color="white", ls="--", lw=1.2)
        ax.set_title(f"#{entry['rank']} {entry['clip_id']}\npredicted {entry['prediction']:.3f}, label {_shown(entry['label'])}", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(entries) :]:
        ax.set_axis_off()
    fig.supxlabel("time (s)")
    fig.supylabel("mel band centre (Hz)" if view.spectrogram else "RMS amplitude of the waveform")
    shown = f"binarised CAM >= {threshold:g}" if binarize else "CAM normalised to [0, 1] per clip"
    outline = "; dashed: the generator's hidden cue" if band is not None else ""
    fig.suptitle(f"{model}: where {trait} was heard, top {len(entries)} clips by predicted {trait} ({splits}); {shown}{outline}", fontsize=11)
    if image is not None and not binarize:
        fig.colorbar(image, ax=axes, shrink=0.6, label="normalised CAM")
    return fig


def profile_figure(profiles: dict[str, dict[str, np.ndarray]], *, model: str, view: CamView, band: dict | None = None, band_trait: str | None = None) -> Figure:
    """Each trait's CAM averaged over its top clips: over mel bands (a band profile) and over time.

    Parameters
    ----------
    profiles : trait -> `impressions.cam.maps.profiles` output
    band, band_trait : the hidden cue and the trait it carries, shaded when given
    """
    panels = 2 if view.spectrogram else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False, layout="constrained")
    axes = axes[0]
    for trait, profile in profiles.items():
        style = {"lw": 2.4} if trait == band_trait else {"lw": 1.2, "alpha": 0.8}
        times = (np.arange(len(profile["time_profile"])) + 0.5) * view.frame_s
        axes[-1].plot(times, profile["time_profile"], label=trait, **style)
        if view.spectrogram:
            axes[0].plot(band_centres_hz(), profile["band_profile"], label=trait, **style)
    cue = f"{band_trait}'s hidden cue" if band_trait else ""
    if band is not None:
        axes[-1].axvspan(band["start_s"], band["end_s"], color="grey", alpha=0.2, label=cue)
    axes[-1].set(xlabel="time (s)", ylabel="mean normalised CAM (0-1)", title="time profile (mean over bands)" if view.spectrogram else "time profile")
    if view.spectrogram:
        if band is not None:
            axes[0].axvspan(band["low_hz"], band["high_hz"], color="grey", alpha=0.2, label=cue)
        axes[0].set_xscale("log")
        axes[0].set_xticks(TICK_HZ, [f"{hz:g}" for hz in TICK_HZ])
        axes[0].xaxis.set_minor_formatter(NullFormatter())
        axes[0].set(xlabel="mel band centre (Hz)", ylabel="mean normalised CAM (0-1)", title="band profile (mean over time)")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{model}: CAM averaged over each trait's top clips")
    return fig


def _shown(label) -> str:
    """A label as a gallery title shows it: a score to 3 decimals, a class by name."""
    return label if isinstance(label, str) else f"{label:.3f}"
