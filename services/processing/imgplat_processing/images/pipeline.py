"""How the Watermark step composes the image functions: stamp the marks and encode every output, in parallel.

The Lambda step (image_steps.watermark) and the benchmark (bench/processing.py) both call this, so what is measured
is what runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from typing import TypeVar

from PIL import Image

from imgplat_processing.images.encode import encode_rendition
from imgplat_processing.images.watermark import WatermarkConfig, apply_watermark

Delivered = TypeVar("Delivered")

# Per pixel, a WebP (method 2) takes about 2.5 times as long to encode as a progressive JPEG, an AVIF (speed 8)
# about 15 times (docs/performance.md).
_ENCODE_COST_PER_PIXEL = {"jpeg": 1.0, "webp": 2.5, "avif": 15.0}


def watermark_and_encode(
    images: Mapping[str, Image.Image],
    config: WatermarkConfig,
    formats: Mapping[str, Sequence[str]],
    delivery_pool: Executor,
    deliver: Callable[[str, str, Image.Image, bytes], Delivered],
) -> dict[tuple[str, str], Delivered]:
    """Stamp the watermark on the renditions `config` names, encode each rendition in the formats `formats` lists
    for its name, and hand each result to `deliver` (run in `delivery_pool`, so an upload overlaps the next encode);
    results keyed by (name, format).

    The costliest encodes start first (the large WebP takes as long as all the rest together, so it must never
    start last), and each rendition is stamped just before its encodes are queued, while earlier ones run. Encodes
    get one thread per CPU: Pillow's JPEG encoder holds the GIL, so more threads only take turns and slow the WebPs.
    """
    outputs = sorted(
        ((name, image_format) for name in images for image_format in formats[name]),
        key=lambda output: -_encode_cost(images[output[0]], output[1]),
    )
    ready: dict[str, Image.Image] = {}
    encoding: dict[Future[bytes], tuple[str, str]] = {}
    for name, image_format in outputs:
        if name not in ready:  # stamped one after the other, in this thread: FreeType fonts are shared
            ready[name] = apply_watermark(images[name], config) if config.applies_to(name) else images[name]
        encoding[_encoders().submit(encode_rendition, ready[name], image_format)] = (name, image_format)
    delivering: dict[tuple[str, str], Future[Delivered]] = {}
    for encoded in as_completed(encoding):
        name, image_format = encoding[encoded]
        delivering[(name, image_format)] = delivery_pool.submit(
            deliver, name, image_format, ready[name], encoded.result()
        )
    return {output: delivering[output].result() for output in outputs}


def _encode_cost(image: Image.Image, image_format: str) -> float:
    return image.width * image.height * _ENCODE_COST_PER_PIXEL.get(image_format, 1.0)


@functools.cache
def _encoders() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0)), thread_name_prefix="encode")
