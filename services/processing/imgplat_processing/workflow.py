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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from enum import Enum
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
from imgplat_processing.images.encode import MIME
from imgplat_processing.images.metadata import blurhash_of, dominant_color, extract_exif_summary, library_versions
from imgplat_processing.images.pipeline import watermark_and_encode
from imgplat_processing.images.renditions import RenderedImage, render_renditions
from imgplat_processing.images.validate import ImageRejected, validate_image
from imgplat_processing.images.watermark import WatermarkConfig
from imgplat_processing.settings import MIB, ProcessingSettings

# Renditions never change once written (their key holds the original's content hash).
RENDITION_CACHE_CONTROL = "private, max-age=31536000, immutable"
# Intermediates are raw pixels, read once by the next step (the mode is also the key's extension: .rgb, .rgba).
INTERMEDIATE_CONTENT_TYPE = "application/octet-stream"
# Threads for S3 transfers: enough to overlap reads and uploads with the image work.
IMAGE_WORKERS = 4
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
    """A rendition's pixels between Resize and Watermark: raw bytes (Image.tobytes()) at `key`."""

    key: str
    long_edge: int
    width: int
    height: int
    mode: str  # RGB or RGBA


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
    recorded: bool  # False when the record had already moved on or is gone (nothing was written)
    image_gone: bool = False  # the owner deleted the image during the run; the state machine ends as ImageGone
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
    """Check the original from its object size and image headers (no pixel decode) and read its EXIF summary."""
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
    """Render every rendition from the original and keep them as raw-pixel intermediates under the run's work prefix.

    Raw pixels (Image.tobytes(); mode and size travel in the step result) cost a copy to write and to read, where a
    PNG costs an encode here and a decode in Watermark; the files live for seconds and never leave the bucket.
    """
    validated = state.require_validated()
    data = store.read_object(settings.originals_bucket, original_key(state.owner, state.image_id))
    if hashlib.sha256(data).hexdigest() != validated.sha256:
        raise OriginalChanged(f"the original of {state.image_id} changed after it was validated")
    rendered = render_renditions(data, settings.rendition_specs, validated.format)
    prefix = work_prefix(state.owner, state.image_id, state.run_id)

    def keep(rendition: RenderedImage) -> Intermediate:
        image = rendition.image
        key = f"{prefix}{rendition.name}.{image.mode.lower()}"
        store.write_object(
            settings.renditions_bucket,
            key,
            image.tobytes(),
            content_type=INTERMEDIATE_CONTENT_TYPE,
            kms_key_arn=settings.kms_key_arn,
        )
        return Intermediate(
            key=key, long_edge=rendition.long_edge, width=image.width, height=image.height, mode=image.mode
        )

    intermediates = dict(zip((r.name for r in rendered), _worker_pool().map(keep, rendered), strict=True))
    smallest = min(rendered, key=lambda rendition: rendition.long_edge).image
    return Resized(
        intermediates=intermediates, placeholder=blurhash_of(smallest), dominant_color=dominant_color(smallest)
    )


@reports_rejections
def watermark(state: WorkflowState, settings: ProcessingSettings) -> Rendered:
    """Watermark the intermediates that the config names, encode each as JPEG and WebP, then drop the work files.

    Reads and uploads run in a small thread pool (boto3 releases the GIL while it waits); the stamping and encoding
    are images.pipeline.watermark_and_encode's (one encode thread per CPU).
    """
    validated = state.require_validated()
    config = watermark_config(settings)
    intermediates = state.require_resized().intermediates
    pool = _worker_pool()

    def load(intermediate: Intermediate) -> Image.Image:
        pixels = store.read_object(settings.renditions_bucket, intermediate.key)
        return Image.frombytes(intermediate.mode, (intermediate.width, intermediate.height), pixels)

    loaded = dict(zip(intermediates, pool.map(load, intermediates.values()), strict=True))
    marked = {name: config.applies_to(name) for name in intermediates}

    def publish(name: str, image_format: str, image: Image.Image, body: bytes) -> RenditionFile:
        key = rendition_key(state.owner, state.image_id, validated.sha256, name, image_format)
        store.write_object(
            settings.renditions_bucket,
            key,
            body,
            content_type=MIME[image_format],
            kms_key_arn=settings.kms_key_arn,
            cache_control=RENDITION_CACHE_CONTROL,
        )
        return RenditionFile(key=key, width=image.width, height=image.height, bytes=len(body))

    published = watermark_and_encode(loaded, config, RENDITION_FORMATS, pool, publish)
    renditions = {
        name: Rendition(
            name=name,
            long_edge=intermediate.long_edge,
            watermarked=marked[name],
            files={image_format: published[(name, image_format)] for image_format in RENDITION_FORMATS},
        )
        for name, intermediate in intermediates.items()
    }
    store.delete_prefix(settings.renditions_bucket, work_prefix(state.owner, state.image_id, state.run_id))
    return Rendered(renditions=renditions)


@functools.cache
def _worker_pool() -> ThreadPoolExecutor:
    """One small pool per container for the image steps' I/O and encodes (idle threads cost nothing)."""
    return ThreadPoolExecutor(max_workers=IMAGE_WORKERS, thread_name_prefix="image")


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
    ending = _record_ending(state, settings, ImageStatus.REJECTED, {"reason": reason})
    if ending is _Ending.RECORDED:
        store.tag_object(settings.originals_bucket, original_key(state.owner, state.image_id), REJECTED_ORIGINAL_TAGS)
    return ending.outcome(ImageStatus.REJECTED, reason=reason)


def mark_failed(state: WorkflowState, settings: ProcessingSettings) -> Outcome:
    """FAILED with a new error id, logged with the error so support can find it; this run's files go.

    An image its owner deleted during the run is no failure: the run only removes what it wrote.
    """
    error_id = new_error_id()
    error = state.error or StepError()
    ending = _record_ending(state, settings, ImageStatus.FAILED, {"error_id": error_id})
    details = {"error_id": error_id, "error": error.error, "cause": error.cause}
    if ending is _Ending.IMAGE_GONE:
        logger.info("image deleted during processing; this run's files were removed", extra=details)
    else:
        logger.error("image processing failed", extra=details)
    return ending.outcome(ImageStatus.FAILED, error_id=error_id)


class _Ending(Enum):
    """How writing a run's final status went."""

    RECORDED = "recorded"  # this run wrote the final status
    MOVED_ON = "moved_on"  # the record is finished or belongs to another run: left as it is
    IMAGE_GONE = "image_gone"  # there is no record any more: the owner deleted the image

    def outcome(self, status: ImageStatus, *, reason: str | None = None, error_id: str | None = None) -> Outcome:
        return Outcome(
            status=status,
            recorded=self is _Ending.RECORDED,
            image_gone=self is _Ending.IMAGE_GONE,
            reason=reason,
            error_id=error_id,
        )


def _record_ending(
    state: WorkflowState, settings: ProcessingSettings, target: ImageStatus, fields: dict[str, Any]
) -> _Ending:
    """Write the final status and remove the run's files.

    The run's work prefix is always its own. Renditions are keyed by content, not by run, so they are deleted only
    when this run still owned the record, or when the record is gone (nobody serves them any more): a record that is
    READY, or another run's, may be serving the very same keys.
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
        ending = _Ending.RECORDED
    except store.RecordMissing:
        logger.info("the image was deleted during processing", extra={"target": target.value})
        ending = _Ending.IMAGE_GONE
    except store.ConditionFailed:
        logger.warning("record already moved on; leaving it as it is", extra={"target": target.value})
        ending = _Ending.MOVED_ON
    store.delete_prefix(settings.renditions_bucket, work_prefix(state.owner, state.image_id, state.run_id))
    if ending is not _Ending.MOVED_ON and state.validated is not None:
        store.delete_objects(settings.renditions_bucket, _rendition_keys(state, settings, state.validated.sha256))
    return ending


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
