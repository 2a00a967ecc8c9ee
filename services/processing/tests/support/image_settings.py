"""The service's own image settings (ImageSettings' defaults) for tests of the image code, which takes no defaults."""

from __future__ import annotations

import dataclasses
from typing import Any

from imgplat_processing.images.validate import ValidationLimits
from imgplat_processing.images.watermark import WatermarkConfig
from imgplat_processing.settings import ImageSettings

from local.serverless_files import param_default

# Upload declares the cap; compose passes it to processing (the value a deploy gets).
TEST_MAX_UPLOAD_BYTES = int(param_default("upload", "maxUploadBytes"))
IMAGE_SETTINGS = ImageSettings(max_upload_bytes=TEST_MAX_UPLOAD_BYTES)
DEFAULT_RENDITIONS = IMAGE_SETTINGS.rendition_specs
LIMITS = IMAGE_SETTINGS.validation_limits


def limits(**changes: Any) -> ValidationLimits:
    """The default limits with `changes`."""
    return dataclasses.replace(LIMITS, **changes)


def watermark(**changes: Any) -> WatermarkConfig:
    """The default watermark (text, no logo) with `changes`."""
    return dataclasses.replace(IMAGE_SETTINGS.watermark_config(logo=None), **changes)
