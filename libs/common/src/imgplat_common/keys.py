"""Object key layout. Keys are always made here, from ids the platform issued; client input never reaches a key."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

ORIGINALS_PREFIX = "originals/"
RENDITIONS_PREFIX = "renditions/"
WORK_PREFIX = "work/"

# 12 hex digits of milliseconds then 20 random hex digits: unique, unguessable and sorted by creation time,
# so a DynamoDB query on the owner's partition returns newest first without an index.
IMAGE_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
# Cognito subs are UUIDs; anything else in a key position is refused.
OWNER_PATTERN = re.compile(r"^[0-9a-zA-Z-]{1,128}$")
CONTENT_HASH_LENGTH = 16
# Rendition names become file names in rendition keys: lower case so one name never means two keys.
RENDITION_NAME_PATTERN = re.compile(r"^[a-z0-9_-]{1,32}$")

RENDITION_EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}


class InvalidKeyError(ValueError):
    """A key or id that the platform did not make."""


def new_image_id(now_ms: int | None = None) -> str:
    """A new image id: time-ordered and unguessable."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{millis:012x}{secrets.token_hex(10)}"


def is_image_id(value: str) -> bool:
    return bool(IMAGE_ID_PATTERN.fullmatch(value))


def _check_owner(owner: str) -> str:
    if not OWNER_PATTERN.fullmatch(owner):
        raise InvalidKeyError(f"not a valid owner id: {owner!r}")
    return owner


def check_rendition_name(name: str) -> str:
    """The name, if a rendition may have it (1-32 of a-z, 0-9, '-', '_'); InvalidKeyError otherwise."""
    if not RENDITION_NAME_PATTERN.fullmatch(name):
        raise InvalidKeyError(f"not a rendition name: {name!r} (1-32 lower-case letters, digits, '-' or '_')")
    return name


def _check_image_id(image_id: str) -> str:
    if not is_image_id(image_id):
        raise InvalidKeyError(f"not a valid image id: {image_id!r}")
    return image_id


@dataclass(frozen=True)
class OriginalKey:
    owner: str
    image_id: str

    def __str__(self) -> str:
        return original_key(self.owner, self.image_id)


def original_key(owner: str, image_id: str) -> str:
    """originals/{owner sub}/{image id}"""
    return f"{ORIGINALS_PREFIX}{_check_owner(owner)}/{_check_image_id(image_id)}"


def parse_original_key(key: str) -> OriginalKey:
    """The owner and image id of an originals/ key; InvalidKeyError for anything the platform did not make."""
    if key.startswith(ORIGINALS_PREFIX):
        match key.removeprefix(ORIGINALS_PREFIX).split("/"):
            case [owner, image_id]:
                return OriginalKey(owner=_check_owner(owner), image_id=_check_image_id(image_id))
    raise InvalidKeyError(f"not an originals key: {key!r}")


def rendition_prefix(owner: str, image_id: str) -> str:
    """Every rendition of an image lives below this prefix (delete removes it whole)."""
    return f"{RENDITIONS_PREFIX}{_check_owner(owner)}/{_check_image_id(image_id)}/"


def rendition_key(owner: str, image_id: str, content_hash: str, name: str, image_format: str) -> str:
    """renditions/{owner}/{image id}/{content hash}/{name}.{ext}

    The content hash of the original makes keys immutable: a replaced original never serves stale renditions.
    """
    if not re.fullmatch(rf"[0-9a-f]{{{CONTENT_HASH_LENGTH},64}}", content_hash):
        raise InvalidKeyError(f"not a content hash: {content_hash!r}")
    check_rendition_name(name)
    extension = RENDITION_EXTENSIONS[image_format]
    return f"{rendition_prefix(owner, image_id)}{content_hash[:CONTENT_HASH_LENGTH]}/{name}.{extension}"


def work_prefix(owner: str, image_id: str, run_id: str) -> str:
    """Intermediate files of one workflow run (expired by a lifecycle rule as a backstop)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", run_id):
        raise InvalidKeyError(f"not a run id: {run_id!r}")
    return f"{WORK_PREFIX}{_check_owner(owner)}/{_check_image_id(image_id)}/{run_id}/"
