"""Deleting an image: its objects first, its record last, so a crash never leaves objects nobody can find.

ImageDeleted is published after the objects are gone and before the record goes: if publishing fails, the record
is still there, the caller gets a 500 and deleting again publishes it (under the same event id). Published after
the record, a failure would leave a deleted image nobody is ever told about, since a second DELETE finds nothing.
"""

from __future__ import annotations

from typing import Protocol

from imgplat_common.errors import NotFound
from imgplat_common.image_events import ImageDeleted, ImageEvent
from imgplat_common.keys import InvalidKeyError, parse_original_key, rendition_prefix
from imgplat_common.models import ImageRecord
from imgplat_common.observability import logger

from imgplat_retrieval.ownership import NOT_FOUND_MESSAGE, find_image


class ImageEraser(Protocol):
    def get_image(self, owner: str, image_id: str) -> ImageRecord | None: ...

    def delete_original(self, key: str) -> None: ...

    def delete_renditions(self, prefix: str) -> int: ...

    def delete_image_record(self, owner: str, image_id: str) -> bool: ...

    def publish_event(self, event: ImageEvent) -> None: ...


class ForeignOriginalKeyError(RuntimeError):
    """A record whose original key is not this image's: never delete what the key points at."""


def delete_image(eraser: ImageEraser, owner: str, image_id: str) -> None:
    """Remove the owner's image: the original, every rendition, then the record.

    NotFound (same answer as for an unknown id) when the owner has no such image. If a step fails the record
    stays, so the owner can simply delete again. ImageDeleted goes out before the record is deleted (module docstring).
    """
    record = find_image(eraser, owner, image_id)
    eraser.delete_original(_own_original_key(record, owner, image_id))
    renditions_deleted = eraser.delete_renditions(rendition_prefix(owner, image_id))
    eraser.publish_event(ImageDeleted.of_image(owner, image_id))
    if not eraser.delete_image_record(owner, image_id):
        # Someone deleted it between our read and our delete: to this caller it is simply gone.
        raise NotFound(NOT_FOUND_MESSAGE)
    logger.info("image deleted", extra={"image_id": image_id, "renditions_deleted": renditions_deleted})


def _own_original_key(record: ImageRecord, owner: str, image_id: str) -> str:
    # The key comes from the record; it must still name this owner's image before anything is deleted with it.
    try:
        parsed = parse_original_key(record.original_key)
    except InvalidKeyError as error:
        raise ForeignOriginalKeyError(f"image {image_id} has a malformed original key") from error
    if (parsed.owner, parsed.image_id) != (owner, image_id):
        raise ForeignOriginalKeyError(f"image {image_id} has an original key of another image")
    return record.original_key
