"""The lookup every image route starts with: the caller's own image, or the same 404 for anything else.

Its own module so that deleting (which answers no view of an image) does not load the answers and the format
negotiation of images.py at a cold start.
"""

from __future__ import annotations

from typing import Protocol

from imgplat_common.errors import NotFound
from imgplat_common.keys import is_image_id
from imgplat_common.models import ImageRecord

# One message for an unknown id, a malformed id and another user's id: the answer never tells them apart.
NOT_FOUND_MESSAGE = "No such image."


class ImageReader(Protocol):
    def get_image(self, owner: str, image_id: str) -> ImageRecord | None: ...


def find_image(reader: ImageReader, owner: str, image_id: str) -> ImageRecord:
    """The owner's image; NotFound for a malformed id, an unknown id or an image of someone else."""
    record = reader.get_image(owner, image_id) if is_image_id(image_id) else None
    if record is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return record
