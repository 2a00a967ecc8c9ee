"""How long a rendition's signed URL lives, and the one place a URL is asked of the signer.

With CloudFront the expiry is aligned to fixed windows: a signed URL is a function of (key, expiry), so every request
for one rendition within a window gets the very same URL, and a browser that cached the rendition under that URL
(it is stored immutable) loads it from its cache instead of the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from imgplat_common.models import RENDITION_MIME_TYPES, ImageRecord
from imgplat_common.status import ImageStatus

from imgplat_retrieval.settings import RetrievalSettings

# Most widely decoded first: what a client gets that names no better format (the listing's thumbnail, format=auto
# without an acceptable match). By default every rendition has JPEG; processing's renditionFormats may leave it out.
MOST_COMPATIBLE_FIRST = ("jpeg", "webp", "avif")


class RenditionSigner(Protocol):
    def rendition_url(self, key: str, content_type: str, expires_at: int) -> str:
        """A URL that serves the rendition object `key` until `expires_at` (Unix seconds)."""
        ...


@dataclass(frozen=True)
class UrlLifetime:
    """A URL lives at least `min_lifetime_seconds`; with `window_seconds` it ends at the end of the current window
    plus that minimum, so it is the same for every request within the window."""

    min_lifetime_seconds: int
    window_seconds: int | None = None

    def expires_at(self, now: int) -> int:
        if self.window_seconds is None:
            return now + self.min_lifetime_seconds
        window_end = (now // self.window_seconds + 1) * self.window_seconds
        return window_end + self.min_lifetime_seconds


@dataclass(frozen=True)
class UrlIssuer:
    """Signs rendition URLs with one signer, one lifetime policy and one notion of now."""

    signer: RenditionSigner
    lifetime: UrlLifetime
    now: int

    @property
    def expires_at(self) -> int:
        return self.lifetime.expires_at(self.now)

    @property
    def expires_in(self) -> int:
        return self.expires_at - self.now

    def url(self, key: str, image_format: str) -> str:
        return self.signer.rendition_url(key, RENDITION_MIME_TYPES[image_format], self.expires_at)


def most_compatible_format(formats: Iterable[str]) -> str | None:
    """Of `formats` (a rendition's), the one most clients decode (MOST_COMPATIBLE_FIRST); None if it has none."""
    present = set(formats)
    return next((image_format for image_format in MOST_COMPATIBLE_FIRST if image_format in present), None)


def thumbnail_url(record: ImageRecord, issuer: UrlIssuer) -> str | None:
    """A signed URL of the image's smallest rendition in its most widely decoded format (JPEG unless processing
    wrote none); None while the image has none (not READY)."""
    if record.status is not ImageStatus.READY or not record.renditions:
        return None
    smallest = min(record.renditions.values(), key=lambda rendition: rendition.long_edge)
    image_format = most_compatible_format(smallest.files)
    if image_format is None:
        return None
    return issuer.url(smallest.files[image_format].key, image_format)


def url_lifetime(settings: RetrievalSettings) -> UrlLifetime:
    """CloudFront URLs are window-aligned (cacheable); S3 pre-signed URLs carry their signing time, so they differ
    on every request anyway and simply live url_expires_seconds."""
    if settings.delivers_through_cdn:
        return UrlLifetime(settings.cdn_url_min_lifetime_seconds, settings.cdn_url_window_seconds)
    return UrlLifetime(settings.url_expires_seconds)
