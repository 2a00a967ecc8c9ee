"""Quality of a benchmark output: PSNR against a full-resolution, floating-point LANCZOS reference.

Kept apart from bench/processing.py so that numpy loads only in the process that scores outputs, never in the
worker processes whose peak RSS the benchmark reports.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import numpy as np
from PIL import Image, ImageOps

WHITE = (255, 255, 255)


def flattened_rgb(image: Image.Image) -> np.ndarray:
    """The image as float RGB, transparency shown on white (as the JPEG renditions show it)."""
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, (0, 0), rgba)
        image = flat
    return np.asarray(image.convert("RGB"), dtype=np.float64)


class Reference:
    """Full-resolution decode of one input, resized per output size with LANCZOS in floating point."""

    def __init__(self, data: bytes, stamp: Callable[[Image.Image], Image.Image]) -> None:
        with Image.open(BytesIO(data)) as opened:
            upright = ImageOps.exif_transpose(opened)
        self.mode = "RGBA" if upright.has_transparency_data else "RGB"
        self.bands = [band.convert("F") for band in upright.convert(self.mode).split()]
        self.stamp = stamp
        self.cache: dict[tuple[tuple[int, int], bool], Image.Image] = {}

    def at(self, size: tuple[int, int], watermarked: bool) -> Image.Image:
        key = (size, watermarked)
        if key not in self.cache:
            bands = [band.resize(size, Image.Resampling.LANCZOS) for band in self.bands]
            arrays = [np.clip(np.rint(np.asarray(band)), 0, 255).astype(np.uint8) for band in bands]
            image = Image.fromarray(np.dstack(arrays), self.mode)
            self.cache[key] = self.stamp(image) if watermarked else image
        return self.cache[key]


def psnr(output: bytes, reference: Reference, watermarked: bool) -> float:
    """PSNR in dB of an encoded output against the reference at the output's size (99 when identical)."""
    with Image.open(BytesIO(output)) as decoded:
        decoded.load()
        actual = flattened_rgb(decoded)
        expected = flattened_rgb(reference.at(decoded.size, watermarked))
    mse = float(np.mean((actual - expected) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))
