"""Shapes that cross service boundaries, defined once.

- ImageRecord: the DynamoDB item. upload creates it, processing advances it, retrieval reads and deletes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from imgplat_common.keys import original_key
from imgplat_common.status import ImageStatus

# The encodings a rendition may exist in, and the type each is stored and served with. By default every rendition has
# JPEG and WebP (processing's RENDITION_FORMATS may name fewer), AVIF only those that processing's settings name
# (AVIF_RENDITIONS: it costs far more time to encode); a reader offers what each image's record lists.
RENDITION_MIME_TYPES: dict[str, str] = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
RENDITION_FORMATS = tuple(RENDITION_MIME_TYPES)
EVERY_RENDITION_FORMATS = ("jpeg", "webp")  # RENDITION_FORMATS' default


def utc_now_iso() -> str:
    """Timestamps are ISO 8601 UTC strings with milliseconds, so they sort as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RenditionFile(_Shape):
    """One encoded rendition object."""

    key: str
    width: int
    height: int
    bytes: int


class Rendition(_Shape):
    """A named rendition, available in the formats its files name (by default EVERY_RENDITION_FORMATS, perhaps AVIF)."""

    name: str
    long_edge: int
    watermarked: bool = False
    files: dict[str, RenditionFile]  # format ("jpeg" | "webp" | "avif") -> object


class ExifSummary(_Shape):
    """The EXIF fields worth keeping. Location (GPS) is never read into this model."""

    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    taken_at: str | None = None


class ImageRecord(_Shape):
    """The image record (DynamoDB item: partition key `owner`, sort key `image_id`)."""

    owner: str
    image_id: str
    status: ImageStatus
    created_at: str
    updated_at: str
    original_key: str
    content_type: str
    filename: str | None = None  # the client's name, kept as metadata only; never part of a key
    declared_size: int | None = None
    run_id: str | None = None  # the workflow execution that claimed the image
    reason: str | None = None  # REJECTED: why, readable by the user
    error_id: str | None = None  # FAILED: the id to quote to support
    # Filled in by processing when READY:
    width: int | None = None
    height: int | None = None
    format: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    exif: ExifSummary | None = None
    placeholder: str | None = None  # blurhash of the image
    dominant_color: str | None = None  # "#rrggbb"
    renditions: dict[str, Rendition] = Field(default_factory=dict)
    processing_ms: int | None = None
    library_versions: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def pending(
        cls,
        owner: str,
        image_id: str,
        content_type: str,
        created_at: str,
        *,
        filename: str | None = None,
        declared_size: int | None = None,
    ) -> ImageRecord:
        """The record of a reserved upload, before its original arrives (what the upload service creates)."""
        return cls(
            owner=owner,
            image_id=image_id,
            status=ImageStatus.PENDING,
            created_at=created_at,
            updated_at=created_at,
            original_key=original_key(owner, image_id),
            content_type=content_type,
            filename=filename,
            declared_size=declared_size,
        )

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item (no None values, no floats)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ImageRecord:
        return cls.model_validate(_plain(item))


def _plain(value: Any) -> Any:
    """DynamoDB returns numbers as Decimal; turn integral ones back into int."""
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
