"""The JSON bodies GET /image/{id} and GET /images answer with: what the logic returns and the OpenAPI reads.

DELETE /image/{id} answers 204 without a body, so it has no model here.
"""

from __future__ import annotations

from typing import Any, Self

from imgplat_common.models import ExifSummary, ImageRecord
from imgplat_common.status import ImageStatus
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

# Keys an image answers only in one status: a REJECTED image says why (even when the reason is null), a FAILED one
# which error id to quote, a READY one what processing learned. Other statuses answer without these keys.
KEYS_OF_ONE_STATUS = {
    "reason": ImageStatus.REJECTED,
    "error_id": ImageStatus.FAILED,
    "metadata": ImageStatus.READY,
    "renditions": ImageStatus.READY,
}


class _RecordAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_record(cls, record: ImageRecord, **computed: Any) -> Self:
        """The answer with each field the record has under the same name, and `computed` for the others."""
        taken = {name: getattr(record, name) for name in cls.model_fields if name not in computed}
        return cls(**taken, **computed)


class ImageMetadata(_RecordAnswer):
    """What processing learned about the original."""

    width: int | None
    height: int | None
    format: str | None
    bytes: int | None
    sha256: str | None
    exif: ExifSummary | None
    placeholder: str | None = Field(description="Blurhash of the image, to draw while a rendition loads.")
    dominant_color: str | None = Field(description="#rrggbb")
    processing_ms: int | None


class RenditionFormatSize(BaseModel):
    bytes: int


class RenditionSummary(BaseModel):
    """One rendition: its dimensions (the same in every format) and the size of each format."""

    width: int | None
    height: int | None
    formats: dict[str, RenditionFormatSize]


class ImageView(_RecordAnswer):
    """An image as its owner sees it; `reason` when REJECTED, `error_id` when FAILED, metadata when READY."""

    image_id: str
    status: ImageStatus
    created_at: str
    updated_at: str
    filename: str | None
    content_type: str
    reason: str | None = None
    error_id: str | None = None
    metadata: ImageMetadata | None = None
    renditions: dict[str, RenditionSummary] | None = None

    # No return annotation: pydantic would take it as this answer's OpenAPI schema instead of the one of its fields.
    @model_serializer(mode="wrap")
    def _only_the_keys_of_its_status(self, serialize: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        body: dict[str, Any] = serialize(self)
        return {key: value for key, value in body.items() if KEYS_OF_ONE_STATUS.get(key, self.status) is self.status}


class RenditionLink(BaseModel):
    """A short-lived link to one rendition of a READY image, with the image's metadata."""

    model_config = ConfigDict(frozen=True)

    image_id: str
    size: str
    format: str
    url: str = Field(
        description="Signed GET of the rendition: a CloudFront signed URL, the same for every request within its "
        "window (so a browser's cache hits), or an S3 pre-signed URL where the platform has no CDN."
    )
    expires_in: int = Field(description="Seconds until the URL stops working.")
    width: int
    height: int
    bytes: int
    metadata: ImageMetadata


class ImageSummary(_RecordAnswer):
    """What a gallery needs to draw a tile before any rendition loads."""

    image_id: str
    status: ImageStatus
    created_at: str
    filename: str | None
    width: int | None
    height: int | None
    placeholder: str | None
    dominant_color: str | None
    thumbnail_url: str | None = Field(
        description=(
            "Signed URL of the smallest rendition in its most widely decoded format (JPEG unless the deployment "
            "writes none), as GET /image/{id}?size= gives it; null unless READY."
        ),
    )


class ImagePage(BaseModel):
    """One page of the owner's images, newest first."""

    model_config = ConfigDict(frozen=True)

    items: list[ImageSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")
