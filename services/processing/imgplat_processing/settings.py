"""The processing service's settings: resource names from serverless.yml, and the image tunables with defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgplat_common.settings import PlatformSettings

from imgplat_processing.rendition_specs import RenditionSpec, parse_rendition_specs

if TYPE_CHECKING:
    from imgplat_processing.images.validate import ValidationLimits

MIB = 1024 * 1024


class ProcessingSettings(PlatformSettings):
    """Field `renditions_bucket` reads env RENDITIONS_BUCKET, and so on (serverless.yml params -> env)."""

    images_table: str = ""
    originals_bucket: str = ""
    renditions_bucket: str = ""
    kms_key_arn: str = ""
    state_machine_arn: str = ""  # the orchestrator's and the reconciler's; the steps never start workflows
    images_status_index: str = "status-updated_at"  # upload's GSI of the images table (status, updated_at)

    # The reconciler: a PENDING record whose original arrived, or a PROCESSING one, is stuck once its last write is
    # this old (longer than the workflow's TimeoutSeconds, so no run of it can still be going).
    stuck_after_seconds: int = 900
    # A PENDING record without an original gets no upload any more after this: upload's longest URL expiry
    # (3600 s) plus a margin for a PUT that started just before it.
    upload_window_seconds: int = 3900
    reconcile_batch_size: int = 100  # records per status per scheduled run; the next run takes the rest

    renditions: str = "thumb:150,small:320,medium:800,large:1600"
    max_upload_bytes: int = 25 * MIB
    max_pixels: int = 40_000_000
    max_frames: int = 100
    max_total_pixels: int = 200_000_000

    watermark_text: str = "© imgplat"
    watermark_logo_key: str = ""  # e.g. config/logo.png in the renditions bucket; empty for text only
    watermark_position: str = "bottom-right"
    watermark_opacity: float = 0.5
    watermark_margin: float = 0.03
    watermark_scale: float = 0.2
    watermark_renditions: str = "medium,large"

    @property
    def rendition_specs(self) -> tuple[RenditionSpec, ...]:
        return parse_rendition_specs(self.renditions)

    @property
    def validation_limits(self) -> ValidationLimits:
        # Imported here: images.validate loads Pillow (~25 ms of a cold start), which the functions that never
        # touch pixels must not pay for just by reading their settings.
        from imgplat_processing.images.validate import ValidationLimits

        return ValidationLimits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            max_frames=self.max_frames,
            max_total_pixels=self.max_total_pixels,
        )

    @property
    def watermarked_renditions(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.watermark_renditions.split(",") if name.strip())
