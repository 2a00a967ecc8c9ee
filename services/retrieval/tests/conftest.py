"""Builders shared by the retrieval tests: image records as the upload and processing services write them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from imgplat_common.keys import new_image_id, original_key, rendition_key
from imgplat_common.models import ExifSummary, ImageRecord, Rendition, RenditionFile
from imgplat_common.status import ImageStatus

RENDITION_LONG_EDGES = {"thumb": 160, "small": 480, "medium": 1024, "large": 1600}
# As processing makes them by default: every rendition in JPEG and WebP, the small ones in AVIF too.
AVIF_RENDITIONS = {"thumb", "small"}
CONTENT_HASH = "ab" * 32

MakeRecord = Callable[..., ImageRecord]


def _renditions(owner: str, image_id: str) -> dict[str, Rendition]:
    renditions = {}
    for index, (name, long_edge) in enumerate(RENDITION_LONG_EDGES.items()):
        files = {
            image_format: RenditionFile(
                key=rendition_key(owner, image_id, CONTENT_HASH, name, image_format),
                width=long_edge,
                height=long_edge * 3 // 4,
                bytes=1000 * (index + 1) + {"jpeg": 0, "webp": 1, "avif": 2}[image_format],
            )
            for image_format in ("jpeg", "webp", *(("avif",) if name in AVIF_RENDITIONS else ()))
        }
        renditions[name] = Rendition(name=name, long_edge=long_edge, watermarked=name == "large", files=files)
    return renditions


@pytest.fixture
def make_record() -> MakeRecord:
    """make_record(owner, status=READY, image_id=None, **overrides): a record in the given status."""

    def build(owner: str, status: ImageStatus = ImageStatus.READY, image_id: str | None = None, **overrides: Any):
        image_id = image_id or new_image_id()
        fields: dict[str, Any] = {
            "owner": owner,
            "image_id": image_id,
            "status": status,
            "created_at": "2026-11-20T10:00:00.000Z",
            "updated_at": "2026-11-20T10:00:01.000Z",
            "original_key": original_key(owner, image_id),
            "content_type": "image/jpeg",
            "filename": "holiday.jpg",
            "declared_size": 123_456,
        }
        if status is ImageStatus.REJECTED:
            fields["reason"] = "The file is not a JPEG, PNG or WebP image."
        if status is ImageStatus.FAILED:
            fields["error_id"] = "0123456789abcdef0123456789abcdef"
        if status is ImageStatus.READY:
            fields.update(
                width=4000,
                height=3000,
                format="JPEG",
                bytes=123_456,
                sha256="ab" * 32,
                exif=ExifSummary(camera_make="Canon", camera_model="EOS R6", taken_at="2026-08-01T12:00:00"),
                placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                dominant_color="#336699",
                renditions=_renditions(owner, image_id),
                processing_ms=180,
            )
        fields.update(overrides)
        return ImageRecord(**fields)

    return build
