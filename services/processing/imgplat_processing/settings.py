"""The processing service's settings: the only place with defaults for the image work, and the resource names
serverless.yml sets (required, as in the other services).

ImageSettings builds what the image code takes (ValidationLimits, WatermarkConfig, the rendition specs), which have
no defaults of their own. Rendition names are checked when the settings load (imgplat_common.keys' rule), so a name
the key layout refuses stops the function at its first event instead of failing every run's Watermark step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgplat_common.models import EVERY_RENDITION_FORMATS, RENDITION_FORMATS
from imgplat_common.settings import PlatformSettings
from pydantic import AliasChoices, Field, field_validator

from imgplat_processing.rendition_specs import RenditionSpec, parse_rendition_specs

if TYPE_CHECKING:
    from imgplat_processing.images.validate import ValidationLimits
    from imgplat_processing.images.watermark import WatermarkConfig

MIB = 1024 * 1024
# The renditions bucket's folder the Watermark role may read (and list, so a missing logo is NoSuchKey, not
# AccessDenied: serverless.yml): a logo anywhere else could never be read.
WATERMARK_LOGO_PREFIX = "config/"


class ImageSettings(PlatformSettings):
    """What an upload may be, which renditions it gets and how they are watermarked (env RENDITIONS, ...)."""

    # Upload's cap, wired to both services by compose (processing re-checks the stored size): no default here.
    max_upload_bytes: int
    max_pixels: int = 40_000_000  # per frame; one decode stays well inside a Lambda's memory
    max_frames: int = 100
    max_total_pixels: int = 200_000_000  # frames x pixels per frame
    # Coded images in one HEIF/AVIF file. A 12 MP iPhone photo is a grid of 48 tiles plus a thumbnail and a gain
    # map (about 65), a 48 MP one about 250; each tile costs a decoder start, so a file of many tiny tiles stops
    # here, with a reason, before libheif's own cap (1000 items) would refuse it as unreadable.
    max_image_items: int = 500

    renditions: str = "thumb:150,small:320,medium:800,large:1600"

    watermark_text: str = "© imgplat"
    watermark_logo_key: str = ""  # below WATERMARK_LOGO_PREFIX, e.g. config/logo.png; empty for text only
    watermark_position: str = "bottom-right"
    watermark_opacity: float = 0.5
    watermark_margin: float = 0.03  # a fraction of the long edge
    watermark_scale: float = 0.2  # a fraction of the width
    watermark_renditions: str = "medium,large"

    # The formats every rendition is written in (env RENDITION_FORMATS; the property of that name maps each rendition
    # to its formats). One format saves a PUT and an encode per rendition (docs/cost.md); retrieval then offers what
    # each image has: format=auto falls back to it, an explicit other format is a 400 naming it.
    written_formats: str = Field(
        default=",".join(EVERY_RENDITION_FORMATS),
        validation_alias=AliasChoices("rendition_formats", "written_formats"),
    )

    # The renditions also encoded as AVIF (besides the formats above): the small ones, which a gallery shows by the
    # dozen, where an AVIF costs little time; a large one would take longer than all other outputs together
    # (docs/performance.md). Empty for none.
    avif_renditions: str = "thumb,small"

    @field_validator("renditions")
    @classmethod
    def _renditions_parse(cls, value: str) -> str:
        parse_rendition_specs(value)  # a name rendition_key would refuse, a bad size: refused at load
        return value

    @field_validator("watermark_logo_key")
    @classmethod
    def _logo_in_the_readable_folder(cls, value: str) -> str:
        if value and not value.startswith(WATERMARK_LOGO_PREFIX):
            raise ValueError(
                f"WATERMARK_LOGO_KEY must be below {WATERMARK_LOGO_PREFIX} in the renditions bucket (the only folder "
                f"the Watermark step may read), e.g. {WATERMARK_LOGO_PREFIX}logo.png."
            )
        return value

    @field_validator("written_formats")
    @classmethod
    def _written_formats_known(cls, value: str) -> str:
        _parse_written_formats(value)
        return value

    @property
    def rendition_specs(self) -> tuple[RenditionSpec, ...]:
        return parse_rendition_specs(self.renditions)

    @property
    def watermarked_renditions(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.watermark_renditions.split(",") if name.strip())

    @property
    def rendition_formats(self) -> dict[str, tuple[str, ...]]:
        """The formats each rendition is encoded in, by name."""
        written = self.every_rendition_formats
        avif = {name.strip() for name in self.avif_renditions.split(",") if name.strip()}
        return {
            spec.name: written + (("avif",) if spec.name in avif and "avif" not in written else ())
            for spec in self.rendition_specs
        }

    @property
    def every_rendition_formats(self) -> tuple[str, ...]:
        """The formats every rendition has (RENDITION_FORMATS), AVIF aside."""
        return _parse_written_formats(self.written_formats)

    @property
    def validation_limits(self) -> ValidationLimits:
        # Imported here: images.validate loads Pillow, which the functions that never touch pixels must not pay for
        # just by reading their settings (docs/performance.md).
        from imgplat_processing.images.validate import ValidationLimits

        return ValidationLimits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            max_frames=self.max_frames,
            max_total_pixels=self.max_total_pixels,
            max_image_items=self.max_image_items,
        )

    def watermark_config(self, logo: bytes | None) -> WatermarkConfig:
        """The watermark to stamp; the logo's bytes come from wherever watermark_logo_key points."""
        from imgplat_processing.images.watermark import WatermarkConfig

        return WatermarkConfig(
            text=self.watermark_text or None,
            logo=logo,
            position=self.watermark_position,
            opacity=self.watermark_opacity,
            margin=self.watermark_margin,
            scale=self.watermark_scale,
            renditions=self.watermarked_renditions,
        )


def _parse_written_formats(value: str) -> tuple[str, ...]:
    """RENDITION_FORMATS as a tuple, in the order written, each once; ValueError naming what is wrong."""
    formats = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    if not formats:
        raise ValueError(f"RENDITION_FORMATS names no format; choose one or more of: {', '.join(RENDITION_FORMATS)}.")
    unknown = [image_format for image_format in formats if image_format not in RENDITION_FORMATS]
    if unknown:
        raise ValueError(
            f"RENDITION_FORMATS names an unknown format ({', '.join(unknown)}); "
            f"choose from: {', '.join(RENDITION_FORMATS)}."
        )
    return formats


class ProcessingSettings(ImageSettings):
    """Every processing function's environment: field `renditions_bucket` reads env RENDITIONS_BUCKET, and so on."""

    images_table: str
    originals_bucket: str
    renditions_bucket: str
    kms_key_arn: str
    event_bus_name: str  # the platform's bus (this service's EventBus), where the workflow's endings publish


class OrchestratorSettings(ProcessingSettings):
    """The functions that start workflow runs (the orchestrator and the reconciler); the steps never do."""

    state_machine_arn: str


class ReconcilerSettings(OrchestratorSettings):
    """The reconciler's own environment (reconciliation.py says what it does with it)."""

    images_status_index: str  # upload's GSI of the images table (status, updated_at)
    # A PENDING record whose original arrived, or a PROCESSING one, is stuck once its last write is this old (longer
    # than the workflow's TimeoutSeconds, so no run of it can still be going).
    stuck_after_seconds: int = 1500
    # A PENDING record without an original gets no upload any more after this: upload's longest URL expiry
    # (3600 s) plus a margin for a PUT that started just before it.
    upload_window_seconds: int = 3900
    reconcile_batch_size: int = 100  # records per status per scheduled run; the next run takes the rest
