"""The owner's images, newest first, a page at a time."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Protocol

from imgplat_common.errors import BadRequest
from imgplat_common.keys import is_image_id
from imgplat_common.models import ImageRecord

from imgplat_retrieval.rendition_urls import UrlIssuer, thumbnail_url
from imgplat_retrieval.responses import ImagePage, ImageSummary

# The API contract of GET /images (?limit=1..100, default 20).
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_CURSOR_ALPHABET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ImageLister(Protocol):
    def list_images(
        self, owner: str, limit: int, after_image_id: str | None
    ) -> tuple[list[ImageRecord], str | None]: ...


def list_images(lister: ImageLister, owner: str, limit: int, cursor: str | None, issuer: UrlIssuer) -> ImagePage:
    """One page of the owner's images, newest first, each READY one with its thumbnail's signed URL (so a gallery
    needs this one request), and the cursor of the next page (None on the last)."""
    after_image_id = decode_cursor(cursor) if cursor else None
    records, last_image_id = lister.list_images(owner, limit, after_image_id)
    return ImagePage(
        items=[ImageSummary.from_record(record, thumbnail_url=thumbnail_url(record, issuer)) for record in records],
        next_cursor=encode_cursor(last_image_id) if last_image_id else None,
    )


def encode_cursor(image_id: str) -> str:
    """An opaque cursor: only the image id to resume after (the owner always comes from the caller's token)."""
    return base64.urlsafe_b64encode(image_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The image id inside a cursor made by encode_cursor; BadRequest (invalid_cursor) for anything else."""
    if _CURSOR_ALPHABET.fullmatch(cursor):
        try:
            image_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            image_id = ""
        if is_image_id(image_id):
            return image_id
    raise BadRequest("The cursor is not valid. Start again without one.", code="invalid_cursor")
