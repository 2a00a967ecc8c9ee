"""The service's own image settings (ImageSettings' defaults) for tests of the image code, which takes no defaults."""

from __future__ import annotations

import dataclasses
from typing import Any

from imgplat_processing.images.validate import ValidationLimits
from imgplat_processing.images.watermark import WatermarkConfig
from imgplat_processing.settings import ImageSettings, ProcessingSettings

from local.serverless_files import param_default

# Upload declares the cap; compose passes it to processing (the value a deploy gets).
TEST_MAX_UPLOAD_BYTES = int(param_default("upload", "maxUploadBytes"))
IMAGE_SETTINGS = ImageSettings(max_upload_bytes=TEST_MAX_UPLOAD_BYTES)
DEFAULT_RENDITIONS = IMAGE_SETTINGS.rendition_specs
LIMITS = IMAGE_SETTINGS.validation_limits
# The step functions' settings as a test stack would give them (names, not real resources).
TEST_RESOURCE_NAMES: dict[str, Any] = {
    "images_table": "images",
    "originals_bucket": "originals",
    "renditions_bucket": "renditions",
    "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/test",
    "max_upload_bytes": TEST_MAX_UPLOAD_BYTES,
    "event_bus_name": "imgplat-events",
}
PROCESSING_SETTINGS = ProcessingSettings(**TEST_RESOURCE_NAMES)


def limits(**changes: Any) -> ValidationLimits:
    """The default limits with `changes`."""
    return dataclasses.replace(LIMITS, **changes)


def watermark(**changes: Any) -> WatermarkConfig:
    """The default watermark (text, no logo) with `changes`."""
    return dataclasses.replace(IMAGE_SETTINGS.watermark_config(logo=None), **changes)
