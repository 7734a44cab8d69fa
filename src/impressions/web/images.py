"""Pictures for the page as PNG data URLs: a CAM laid over the input it explains, and a clip's
frames (no figure: they must be quick)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402

from impressions.cam.figures import CMAP  # noqa: E402
from impressions.cam.maps import normalise  # noqa: E402

ALPHA = 0.45
"""Weight of the map's colour over the grey input, as in the galleries."""
ENVELOPE_ROWS = 96
"""Height in pixels of the raw-wave model's picture (its input has no frequency axis)."""


def cam_png(display: np.ndarray, cam: np.ndarray, *, spectrogram: bool, scale: int = 3) -> bytes:
    """The map (normalised to [0, 1]) in the galleries' colours over the input in grey, as PNG bytes.

    Parameters
    ----------
    display : np.ndarray [shape=(time, bands)] log-mel spectrogram, or [shape=(time,)] RMS envelope
    cam : np.ndarray, the same shape as `display`: the map normalised per clip
    spectrogram : True for (time, bands) (low bands at the bottom, `scale` pixels per band); False
        for an envelope, drawn as a dark area under the curve

    Returns
    -------
    bytes : a PNG image, time from left to right
    """
    colours = matplotlib.colormaps[CMAP]
    if spectrogram:
        grey = np.repeat(normalise(display)[..., np.newaxis], 3, axis=-1)
        picture = (1 - ALPHA) * grey + ALPHA * colours(cam)[..., :3]
        picture = np.repeat(picture.transpose(1, 0, 2)[::-1], scale, axis=0)
    else:
        heights = normalise(display) * (ENVELOPE_ROWS - 1)
        under = np.arange(ENVELOPE_ROWS)[::-1, np.newaxis] <= heights[np.newaxis, :]
        base = np.where(under, 0.15, 0.95)[..., np.newaxis]
        picture = (1 - ALPHA) * base + ALPHA * colours(cam)[np.newaxis, :, :3]
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, np.clip(picture, 0, 1), format="png")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    """A PNG as a URL the page can show without another request."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def frame_png(frame: np.ndarray) -> bytes:
    """One RGB frame (height, width, 3) uint8 as PNG bytes."""
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, frame, format="png")
    return buffer.getvalue()
