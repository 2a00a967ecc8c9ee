"""What kind of image a file holds, read from its first bytes: an extension can be missing or lie."""

from __future__ import annotations

import mimetypes
from pathlib import Path

# Enough bytes for every signature below (the ISO-BMFF brand ends at byte 12).
SIGNATURE_BYTES = 16
UNKNOWN_CONTENT_TYPE = "application/octet-stream"
PREFIX_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),  # little-endian
    (b"MM\x00*", "image/tiff"),  # big-endian
)
# The brands of an ISO-BMFF `ftyp` box (bytes 8-12) that name a still-image format.
FTYP_BRANDS = {
    b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
    b"hevc": "image/heic-sequence", b"hevx": "image/heic-sequence",
    b"mif1": "image/heif", b"msf1": "image/heif-sequence",
    b"avif": "image/avif", b"avis": "image/avif",
}  # fmt: skip


def sniff_content_type(head: bytes) -> str | None:
    """The image content type that `head` (a file's first bytes) starts with, or None when it is no known image."""
    for prefix, content_type in PREFIX_SIGNATURES:
        if head.startswith(prefix):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return FTYP_BRANDS.get(head[8:12])
    return None


def content_type_of(path: Path) -> str:
    """The file's bytes decide; its extension only when the bytes are no known image (the platform then judges)."""
    with path.open("rb") as file:
        sniffed = sniff_content_type(file.read(SIGNATURE_BYTES))
    return sniffed or mimetypes.guess_type(path.name)[0] or UNKNOWN_CONTENT_TYPE


def is_image_file(path: Path) -> bool:
    """A visible regular file whose bytes or extension say image: what uploading a folder picks up."""
    if path.name.startswith(".") or not path.is_file():
        return False
    return content_type_of(path).startswith("image/")
