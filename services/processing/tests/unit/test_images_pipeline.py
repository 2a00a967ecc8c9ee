"""watermark_and_encode: every output encoded once, watermarked where the config says, costliest first."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import image_factory as factory
import pytest
from image_settings import watermark
from imgplat_processing.images import pipeline
from imgplat_processing.images.encode import encode_rendition
from imgplat_processing.images.pipeline import watermark_and_encode
from imgplat_processing.images.watermark import apply_watermark
from PIL import Image

CONFIG = watermark(text="© imgplat", renditions=frozenset({"large"}))
# As the settings give them: AVIF for the small renditions only.
FORMATS = {"thumb": ("jpeg", "webp", "avif"), "small": ("jpeg", "webp", "avif"), "large": ("jpeg", "webp")}


def renditions() -> dict[str, Image.Image]:
    photo = Image.effect_noise((960, 640), 40).convert("RGB")
    return {"thumb": photo.resize((150, 100)), "large": photo, "small": photo.resize((300, 200))}


def keep(name: str, image_format: str, image: Image.Image, body: bytes) -> tuple[str, str, bytes]:
    return name, image_format, body


def test_each_output_is_the_encoded_rendition_with_the_watermark_only_where_configured():
    images = renditions()

    with ThreadPoolExecutor(4) as delivery:
        results = watermark_and_encode(images, CONFIG, FORMATS, delivery, keep)

    expected_large = apply_watermark(images["large"], CONFIG)
    assert set(results) == {(name, image_format) for name in images for image_format in FORMATS[name]}
    for (name, image_format), (delivered_name, delivered_format, body) in results.items():
        source = expected_large if name == "large" else images[name]
        assert (delivered_name, delivered_format) == (name, image_format)
        assert body == encode_rendition(source, image_format)


def test_deliver_gets_the_stamped_image_and_runs_in_the_delivery_pool():
    images = renditions()
    seen: dict[tuple[str, str], tuple[bytes, str]] = {}

    def record(name: str, image_format: str, image: Image.Image, body: bytes) -> None:
        seen[(name, image_format)] = (image.tobytes(), threading.current_thread().name)

    with ThreadPoolExecutor(2, thread_name_prefix="delivery") as delivery:
        watermark_and_encode(images, CONFIG, FORMATS, delivery, record)

    assert seen[("large", "webp")][0] == apply_watermark(images["large"], CONFIG).tobytes()
    assert seen[("thumb", "jpeg")][0] == images["thumb"].tobytes()
    assert all(thread.startswith("delivery") for _, thread in seen.values())


def test_the_costliest_encodes_are_queued_first(monkeypatch):
    queued: list[tuple[int, str]] = []
    original = pipeline.encode_rendition

    def spy(image: Image.Image, image_format: str) -> bytes:
        queued.append((image.width, image_format))
        return original(image, image_format)

    monkeypatch.setattr(pipeline, "encode_rendition", spy)
    with ThreadPoolExecutor(1) as one_encoder, ThreadPoolExecutor(1) as delivery:
        monkeypatch.setattr(pipeline, "_encoders", lambda: one_encoder)  # one worker: encodes run in queue order
        watermark_and_encode(renditions(), CONFIG, FORMATS, delivery, keep)

    # The large WebP before the small AVIFs: an AVIF costs more per pixel, the large rendition has ten times the pixels
    assert len(queued) == 8 and queued[0] == (960, "webp")
    assert queued[-1] == (150, "jpeg")


def test_an_encode_failure_reaches_the_caller():
    with ThreadPoolExecutor(1) as delivery, pytest.raises(ValueError, match="cannot encode"):
        watermark_and_encode({"thumb": factory.solid((10, 10))}, CONFIG, {"thumb": ("gif",)}, delivery, keep)
