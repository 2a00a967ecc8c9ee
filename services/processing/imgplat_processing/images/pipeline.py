"""How the Watermark step composes the image functions: stamp the marks, then encode every output in a pool.

The Lambda step (workflow.watermark) and the benchmark (bench/processing.py) both call these, so what is measured
is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from typing import TypeVar

from PIL import Image

from imgplat_processing.images.encode import encode_rendition
from imgplat_processing.images.watermark import WatermarkConfig, apply_watermark

Delivered = TypeVar("Delivered")


def stamp_watermarks(images: Mapping[str, Image.Image], config: WatermarkConfig) -> dict[str, Image.Image]:
    """Each rendition, watermarked when `config` names it (one after the other: FreeType fonts are shared)."""
    return {
        name: apply_watermark(image, config) if config.applies_to(name) else image for name, image in images.items()
    }


def encode_outputs(
    images: Mapping[str, Image.Image],
    formats: Iterable[str],
    pool: Executor,
    deliver: Callable[[str, str, Image.Image, bytes], Delivered],
) -> dict[tuple[str, str], Delivered]:
    """Encode every (rendition, format) in `pool` and hand each result to `deliver`, keyed by (name, format).

    Pillow releases the GIL while it encodes, so the outputs encode in parallel; the largest start first, so the
    longest encodes begin early and the small ones fill the gaps. `deliver` runs in the pool too (an upload overlaps
    the next encode).
    """
    outputs = sorted(
        ((name, image_format) for name in images for image_format in formats),
        key=lambda output: -images[output[0]].width * images[output[0]].height,
    )

    def encode_and_deliver(output: tuple[str, str]) -> Delivered:
        name, image_format = output
        image = images[name]
        return deliver(name, image_format, image, encode_rendition(image, image_format))

    return dict(zip(outputs, pool.map(encode_and_deliver, outputs), strict=True))
