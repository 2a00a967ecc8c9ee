"""The upload service's settings, read from the function's environment (see serverless.yml)."""

from __future__ import annotations

from imgplat_common.settings import PlatformSettings
from pydantic import Field

MIB = 1024 * 1024


class UploadSettings(PlatformSettings):
    """Where uploads go and what they may be. Field `images_table` reads env IMAGES_TABLE, and so on."""

    images_table: str
    originals_bucket: str
    kms_key_arn: str
    # No default: serverless.yml's maxUploadBytes param is the one place the cap is declared (processing gets it
    # through compose). 5 GiB is the largest single PUT/POST S3 accepts.
    max_upload_bytes: int = Field(gt=0, le=5 * 1024 * MIB)
    # Long enough for a slow mobile upload to start; short because the URL is a bearer credential.
    upload_url_expires_seconds: int = Field(default=300, ge=30, le=3600)
    # Processing decides the format from the file's bytes (a HEIC's type only gets it signed and stored).
    allowed_content_types: tuple[str, ...] = (
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
    )
    # Names clients commonly send for an allowed type; the canonical name is what gets signed and stored. The HEIF
    # sequence types are what a phone's burst or live photo is labelled: its first image is processed like a photo.
    content_type_aliases: dict[str, str] = Field(
        default_factory=lambda: {
            "image/jpg": "image/jpeg",
            "image/heic-sequence": "image/heic",
            "image/heif-sequence": "image/heif",
        }
    )
