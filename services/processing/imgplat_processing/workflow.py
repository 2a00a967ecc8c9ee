"""The steps of the image workflow (statemachine.asl.yaml): Claim, Validate, Resize, Watermark, Persist, and the
two endings MarkRejected and MarkFailed.

Each step gets the workflow state (the ProcessingRequest plus what earlier steps added under their ResultPath) and
returns its own small result. Steps pass object keys to each other, never image bytes. Every step may run twice
for the same run (Step Functions retries): writes are conditional or go to keys owned by the run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from io import BytesIO
from typing import Any, ParamSpec, TypeVar

from imgplat_common.errors import new_error_id
from imgplat_common.keys import original_key, rendition_key, work_prefix
from imgplat_common.models import (
    RENDITION_FORMATS,
    ExifSummary,
    ProcessingRequest,
    Rendition,
    RenditionFile,
)
from imgplat_common.observability import logger
from imgplat_common.status import ImageStatus
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from imgplat_processing import store
from imgplat_processing.images.encode import MIME, encode_rendition
from imgplat_processing.images.metadata import blurhash_of, dominant_color, extract_exif_summary, library_versions
from imgplat_processing.images.renditions import render_renditions
from imgplat_processing.images.validate import ImageRejected, validate_image
from imgplat_processing.images.watermark import WatermarkConfig, apply_watermark
from imgplat_processing.settings import MIB, ProcessingSettings

# Renditions never change once written (their key holds the original's content hash).
RENDITION_CACHE_CONTROL = "private, max-age=31536000, immutable"
# Intermediates are read once by the next step: fast compression beats small files, and PNG keeps alpha.
INTERMEDIATE_PNG_COMPRESS_LEVEL = 1
REJECTED_ORIGINAL_TAGS = {"status": "rejected"}  # the originals bucket's lifecycle expires these
DEFAULT_REJECTION = ("rejected", "The file is not an image we can process.")


class StaleEvent(Exception):
    """The record is missing, finished, or claimed by another run: this run has nothing to do."""


class OriginalChanged(Exception):
    """The original's bytes differ from the ones validated earlier in this run (it was replaced mid-run)."""


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Claimed(_Result):
    claimed_at_ms: int


class ValidatedOriginal(_Result):
    format: str
    mime_type: str
    width: int
    height: int
    frames: int
    mode: str
    bytes: int
    sha256: str
    exif: ExifSummary


class Intermediate(_Result):
    key: str
    long_edge: int
    width: int
    height: int


class Resized(_Result):
    intermediates: dict[str, Intermediate]
    placeholder: str
    dominant_color: str


class Rendered(_Result):
    renditions: dict[str, Rendition]


class Persisted(_Result):
    status: ImageStatus
    processing_ms: int


class Outcome(_Result):
    status: ImageStatus
    recorded: bool  # False when the record had already moved on (nothing was written)
    reason: str | None = None
    error_id: str | None = None


class StepError(_Result):
    """What a Catch puts under $.error: the error name and its cause (for Lambda, a JSON document)."""

    error: str = Field(default="", alias="Error")
    cause: str = Field(default="", alias="Cause")


class WorkflowState(ProcessingRequest):
    """The state the steps share: the request at the top, each step's result under its ResultPath."""

    claim: Claimed | None = None
    validated: ValidatedOriginal | None = None
    resized: Resized | None = None
    rendered: Rendered | None = None
    error: StepError | None = None

    def require_claim(self) -> Claimed:
        return _required(self.claim, "claim")

    def require_validated(self) -> ValidatedOriginal:
        return _required(self.validated, "validated")

    def require_resized(self) -> Resized:
        return _required(self.resized, "resized")

    def require_rendered(self) -> Rendered:
        return _required(self.rendered, "rendered")


ResultT = TypeVar("ResultT")
Params = ParamSpec("Params")


def _required(value: ResultT | None, name: str) -> ResultT:
    if value is None:
        raise ValueError(f"the workflow state has no {name!r}: the state machine definition and the steps disagree")
    return value


def reports_rejections(step: Callable[Params, ResultT]) -> Callable[Params, ResultT]:
    """Let an ImageRejected leave the step with its code and reason as JSON in the message.

    Lambda reports only the exception's class name (which the state machine's Catch matches) and str(exception);
    putting both fields in the message is how MarkRejected learns the code as well as the reason.
    """

    @functools.wraps(step)
    def reporting(*args: Params.args, **kwargs: Params.kwargs) -> ResultT:
        try:
            return step(*args, **kwargs)
        except ImageRejected as rejection:
            logger.info("image rejected", extra={"code": rejection.code, "reason": rejection.reason})
            message = json.dumps({"code": rejection.code, "reason": rejection.reason})
            raise ImageRejected(rejection.code, message) from rejection

    return reporting


def rejection_from(error: StepError | None) -> tuple[str, str]:
    """The (code, reason) of a caught ImageRejected; a generic pair when the error carries none."""
    try:
        message = json.loads((error.cause if error else "") or "{}").get("errorMessage", "")
        detail = json.loads(message)
        return str(detail["code"]), str(detail["reason"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return DEFAULT_REJECTION


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the steps ------------------------------------------------------------------------------------------------------


def claim(state: WorkflowState, settings: ProcessingSettings) -> Claimed:
    """PENDING -> PROCESSING for this run; StaleEvent when the image is not this run's to process."""
    claimed_at = now_ms()
    try:
        store.transition(
            settings.images_table,
            owner=state.owner,
            image_id=state.image_id,
            target=ImageStatus.PROCESSING,
            run_id=state.run_id,
        )
    except store.ConditionFailed as refused:
        raise StaleEvent(f"image {state.image_id} is missing, finished or claimed by another run") from refused
    return Claimed(claimed_at_ms=claimed_at)


@reports_rejections
def validate(state: WorkflowState, settings: ProcessingSettings) -> ValidatedOriginal:
    """Check the original (size from its headers first, then its bytes) and read its EXIF summary."""
    limits = settings.validation_limits
    source = original_key(state.owner, state.image_id)
    if store.object_size(settings.originals_bucket, source) > limits.max_bytes:
        raise ImageRejected("too_large", f"The file is larger than the {limits.max_bytes / MIB:g} MB limit.")
    data = store.read_object(settings.originals_bucket, source)
    validated = validate_image(data, limits)
    exif = ExifSummary.model_validate(extract_exif_summary(data, validated.format))
    return ValidatedOriginal(**asdict(validated), exif=exif)


@reports_rejections
def resize(state: WorkflowState, settings: ProcessingSettings) -> Resized:
    """Render every rendition from the original and keep them as PNG intermediates under the run's work prefix."""
    validated = state.require_validated()
    data = store.read_object(settings.originals_bucket, original_key(state.owner, state.image_id))
    if hashlib.sha256(data).hexdigest() != validated.sha256:
        raise OriginalChanged(f"the original of {state.image_id} changed after it was validated")
    rendered = render_renditions(data, settings.rendition_specs, validated.format)
    prefix = work_prefix(state.owner, state.image_id, state.run_id)
    intermediates: dict[str, Intermediate] = {}
    for rendition in rendered:
        key = f"{prefix}{rendition.name}.png"
        png = BytesIO()
        rendition.image.save(png, format="PNG", compress_level=INTERMEDIATE_PNG_COMPRESS_LEVEL)
        store.write_object(
            settings.renditions_bucket, key, png.getvalue(), content_type="image/png", kms_key_arn=settings.kms_key_arn
        )
        width, height = rendition.image.size
        intermediates[rendition.name] = Intermediate(key=key, long_edge=rendition.long_edge, width=width, height=height)
    smallest = min(rendered, key=lambda rendition: rendition.long_edge).image
    return Resized(
        intermediates=intermediates, placeholder=blurhash_of(smallest), dominant_color=dominant_color(smallest)
    )


@reports_rejections
def watermark(state: WorkflowState, settings: ProcessingSettings) -> Rendered:
    """Watermark the intermediates that the config names, encode each as JPEG and WebP, then drop the work files."""
    validated = state.require_validated()
    config = watermark_config(settings)
    renditions: dict[str, Rendition] = {}
    for name, intermediate in state.require_resized().intermediates.items():
        with Image.open(
            BytesIO(store.read_object(settings.renditions_bucket, intermediate.key)), formats=["PNG"]
        ) as png:
            image = png.copy()
        marked = config.applies_to(name)
        if marked:
            image = apply_watermark(image, config)
        files: dict[str, RenditionFile] = {}
        for image_format in RENDITION_FORMATS:
            body = encode_rendition(image, image_format)
            key = rendition_key(state.owner, state.image_id, validated.sha256, name, image_format)
            store.write_object(
                settings.renditions_bucket,
                key,
                body,
                content_type=MIME[image_format],
                kms_key_arn=settings.kms_key_arn,
                cache_control=RENDITION_CACHE_CONTROL,
            )
            files[image_format] = RenditionFile(key=key, width=image.width, height=image.height, bytes=len(body))
        renditions[name] = Rendition(name=name, long_edge=intermediate.long_edge, watermarked=marked, files=files)
    store.delete_prefix(settings.renditions_bucket, work_prefix(state.owner, state.image_id, state.run_id))
    return Rendered(renditions=renditions)


def persist(state: WorkflowState, settings: ProcessingSettings) -> Persisted:
    """PROCESSING (this run) -> READY, with everything the record shows about the image."""
    validated = state.require_validated()
    resized = state.require_resized()
    processing_ms = max(0, now_ms() - state.require_claim().claimed_at_ms)
    fields: dict[str, Any] = {
        "width": validated.width,
        "height": validated.height,
        "format": validated.format,
        "bytes": validated.bytes,
        "sha256": validated.sha256,
        "exif": validated.exif.model_dump(mode="json", exclude_none=True),
        "placeholder": resized.placeholder,
        "dominant_color": resized.dominant_color,
        "renditions": {
            name: rendition.model_dump(mode="json") for name, rendition in state.require_rendered().renditions.items()
        },
        "processing_ms": processing_ms,
        "library_versions": library_versions(),
    }
    try:
        store.transition(
            settings.images_table,
            owner=state.owner,
            image_id=state.image_id,
            target=ImageStatus.READY,
            run_id=state.run_id,
            fields=fields,
        )
    except store.ConditionFailed as refused:
        raise StaleEvent(f"image {state.image_id} is no longer claimed by run {state.run_id}") from refused
    return Persisted(status=ImageStatus.READY, processing_ms=processing_ms)


def mark_rejected(state: WorkflowState, settings: ProcessingSettings) -> Outcome:
    """REJECTED with the reason a user can read; the original is tagged for expiry and this run's files go."""
    code, reason = rejection_from(state.error)
    logger.info("marking image rejected", extra={"code": code, "reason": reason})
    recorded = _record_ending(state, settings, ImageStatus.REJECTED, {"reason": reason})
    if recorded:
        store.tag_object(settings.originals_bucket, original_key(state.owner, state.image_id), REJECTED_ORIGINAL_TAGS)
    return Outcome(status=ImageStatus.REJECTED, recorded=recorded, reason=reason)


def mark_failed(state: WorkflowState, settings: ProcessingSettings) -> Outcome:
    """FAILED with a new error id, logged with the error so support can find it; this run's files go."""
    error_id = new_error_id()
    error = state.error or StepError()
    logger.error("image processing failed", extra={"error_id": error_id, "error": error.error, "cause": error.cause})
    recorded = _record_ending(state, settings, ImageStatus.FAILED, {"error_id": error_id})
    return Outcome(status=ImageStatus.FAILED, recorded=recorded, error_id=error_id)


def _record_ending(
    state: WorkflowState, settings: ProcessingSettings, target: ImageStatus, fields: dict[str, Any]
) -> bool:
    """Write the final status and remove the run's files; False when the record had already moved on.

    The run's work prefix is always its own. Renditions are keyed by content, not by run, so they are only deleted
    when this run still owned the record: a record that is READY may be serving the very same keys.
    """
    try:
        store.transition(
            settings.images_table,
            owner=state.owner,
            image_id=state.image_id,
            target=target,
            run_id=state.run_id,
            fields=fields,
        )
        recorded = True
    except store.ConditionFailed:
        logger.warning("record already moved on; leaving it as it is", extra={"target": target.value})
        recorded = False
    store.delete_prefix(settings.renditions_bucket, work_prefix(state.owner, state.image_id, state.run_id))
    if recorded and state.validated is not None:
        store.delete_objects(settings.renditions_bucket, _rendition_keys(state, settings, state.validated.sha256))
    return recorded


def _rendition_keys(state: WorkflowState, settings: ProcessingSettings, content_hash: str) -> list[str]:
    return [
        rendition_key(state.owner, state.image_id, content_hash, spec.name, image_format)
        for spec in settings.rendition_specs
        for image_format in RENDITION_FORMATS
    ]


def watermark_config(settings: ProcessingSettings) -> WatermarkConfig:
    """The watermark from settings; the logo (if any) is read from the renditions bucket once per container."""
    logo = (
        _watermark_logo(settings.renditions_bucket, settings.watermark_logo_key)
        if settings.watermark_logo_key
        else None
    )
    return WatermarkConfig(
        text=settings.watermark_text or None,
        logo=logo,
        position=settings.watermark_position,
        opacity=settings.watermark_opacity,
        margin=settings.watermark_margin,
        scale=settings.watermark_scale,
        renditions=settings.watermarked_renditions,
    )


@functools.cache
def _watermark_logo(bucket: str, key: str) -> bytes | None:
    try:
        return store.read_object(bucket, key)
    except store.ObjectMissing:
        # A missing logo should not fail every upload: stamp the text alone and say so loudly.
        logger.error("watermark logo not found; stamping text only", extra={"bucket": bucket, "key": key})
        return None
