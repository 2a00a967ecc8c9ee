"""One image as its owner sees it: the record view, and a signed link to one of its renditions in the format asked
for, or (format=auto) in the best one the client's Accept header names."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from imgplat_common.errors import BadRequest, Conflict
from imgplat_common.models import RENDITION_MIME_TYPES, ImageRecord, Rendition
from imgplat_common.status import ImageStatus

from imgplat_retrieval.negotiation import negotiate_format
from imgplat_retrieval.rendition_urls import UrlIssuer, most_compatible_format
from imgplat_retrieval.responses import ImageMetadata, ImageView, RenditionFormatSize, RenditionLink, RenditionSummary


class RenditionFormat(StrEnum):
    """The encodings a rendition may exist in (imgplat_common.models.RENDITION_FORMATS)."""

    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"

    @property
    def content_type(self) -> str:
        return RENDITION_MIME_TYPES[self.value]


class RequestedFormat(StrEnum):
    """The `format` a client asks for: one encoding, or auto (the best its Accept header names)."""

    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"
    AUTO = "auto"


# format=auto's order, best first: the smallest files at equal quality (docs/performance.md). JPEG comes last: every
# client decodes it, so it is what a client gets that names nothing better (rendition_urls.MOST_COMPATIBLE_FIRST).
PREFERRED_FORMATS = (RenditionFormat.AVIF, RenditionFormat.WEBP, RenditionFormat.JPEG)


def requested_format(query: RequestedFormat | None) -> RequestedFormat:
    """What a request asks for: its `format`, else auto. Auto without an Accept header is the most widely decoded
    format the rendition has: JPEG, unless processing's renditionFormats wrote none."""
    return RequestedFormat.AUTO if query is None else query


def refuse_rendition_options_without_size(size: str | None, requested: RequestedFormat | None, redirect: bool) -> None:
    """`format` and `redirect` choose and fetch a rendition: without `size` they would be silently ignored, and the
    caller would get the image's description instead of what it asked for."""
    if size is None and (requested is not None or redirect):
        raise BadRequest(
            "format and redirect apply to a rendition: add ?size= with one of the image's rendition names.",
            code="size_required",
        )


def describe_image(record: ImageRecord) -> ImageView:
    """The record as its owner sees it: status, why it failed when it did, metadata and renditions when READY."""
    if record.status is not ImageStatus.READY:
        return ImageView.from_record(record, metadata=None, renditions=None)
    renditions = {rendition.name: _describe_rendition(rendition) for rendition in _smallest_first(record.renditions)}
    return ImageView.from_record(record, metadata=ImageMetadata.from_record(record), renditions=renditions)


def link_rendition(
    record: ImageRecord, size: str, requested: RequestedFormat, issuer: UrlIssuer, *, accept: str | None = None
) -> RenditionLink:
    """A signed download link to one rendition of a READY image (the same link within a CloudFront URL window), in
    the format `requested`; for auto, the format of the rendition that `accept` (the request's Accept header)
    prefers, else the most widely decoded one it has (JPEG by default).

    Conflict (not_ready) while the image has no renditions; BadRequest for a size or format it does not have (the
    error's details list the ones it has).
    """
    if record.status is not ImageStatus.READY:
        raise _not_ready(record)
    rendition = record.renditions.get(size)
    if rendition is None:
        allowed_sizes = [r.name for r in _smallest_first(record.renditions)]
        raise BadRequest(
            f"Unknown size. Choose one of: {', '.join(allowed_sizes)}.",
            code="invalid_size",
            details={"allowed": allowed_sizes},
        )
    image_format = _choose_format(rendition, requested, accept)
    file = rendition.files.get(image_format.value)
    if file is None:
        allowed_formats = [f.value for f in RenditionFormat if f.value in rendition.files]
        raise BadRequest(
            f"Size '{rendition.name}' is not available as {image_format.value}. "
            f"Choose one of: {', '.join(allowed_formats)}.",
            code="invalid_format",
            details={"allowed": allowed_formats},
        )
    return RenditionLink(
        image_id=record.image_id,
        size=rendition.name,
        format=image_format.value,
        url=issuer.url(file.key, image_format.value),
        expires_in=issuer.expires_in,
        width=file.width,
        height=file.height,
        bytes=file.bytes,
        metadata=ImageMetadata.from_record(record),
    )


def _choose_format(rendition: Rendition, requested: RequestedFormat, accept: str | None) -> RenditionFormat:
    if requested is not RequestedFormat.AUTO:
        return RenditionFormat(requested.value)
    chosen = negotiate_format(
        accept,
        available=rendition.files,
        media_types=RENDITION_MIME_TYPES,
        preference=tuple(image_format.value for image_format in PREFERRED_FORMATS),
    )
    if chosen is not None:
        return RenditionFormat(chosen)
    # Nothing acceptable that it has: the most widely decoded format it has (RFC 9110 lets a server disregard
    # Accept rather than answer 406).
    return RenditionFormat(most_compatible_format(rendition.files) or RenditionFormat.JPEG)


def _not_ready(record: ImageRecord) -> Conflict:
    details: dict[str, Any] = {"status": record.status.value}
    if record.status is ImageStatus.REJECTED:
        details["reason"] = record.reason
        message = "The image was rejected, so it has no renditions."
    elif record.status is ImageStatus.FAILED:
        details["error_id"] = record.error_id
        message = "Processing the image failed, so it has no renditions. Quote the error_id to support."
    elif record.status is ImageStatus.PENDING:
        # Reserved: the file may not have been sent yet, or processing has not picked it up.
        message = "The image's file has not been received and processed yet. Send it, or try again shortly."
    else:
        message = "The image is still being processed. Try again shortly."
    return Conflict(message, code="not_ready", details=details)


def _describe_rendition(rendition: Rendition) -> RenditionSummary:
    # Every format of a rendition has the same dimensions, so any file (JPEG first) gives them.
    reference = rendition.files.get(RenditionFormat.JPEG.value) or next(iter(rendition.files.values()), None)
    return RenditionSummary(
        width=reference.width if reference else None,
        height=reference.height if reference else None,
        formats={name: RenditionFormatSize(bytes=file.bytes) for name, file in rendition.files.items()},
    )


def _smallest_first(renditions: dict[str, Rendition]) -> list[Rendition]:
    return sorted(renditions.values(), key=lambda rendition: rendition.long_edge)
