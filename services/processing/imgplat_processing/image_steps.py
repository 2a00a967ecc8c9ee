"""The image steps of the workflow (statemachine.asl.yaml): Validate, Resize and Watermark.

The only module of the workflow that imports the image code (Pillow, blurhash): the other steps are in
bookkeeping_steps.py and the state they share in workflow_state.py, so their handlers load none. Like every step,
these get the workflow state and return their own small result, pass object keys rather than image bytes, and may
run twice for the same run (they write only to keys owned by the run or keyed by content).
"""

from __future__ import annotations

import functools
import hashlib
from concurrent.futures import ThreadPoolExecutor

from imgplat_common.keys import original_key, rendition_key, work_prefix
from imgplat_common.models import RENDITION_MIME_TYPES, ExifSummary, Rendition, RenditionFile
from imgplat_common.observability import logger
from PIL import Image

from imgplat_processing.images.metadata import blurhash_of, dominant_color, extract_exif_summary
from imgplat_processing.images.pipeline import watermark_and_encode
from imgplat_processing.images.renditions import render_renditions
from imgplat_processing.images.validate import display_name, fits_declared_type, validate_image
from imgplat_processing.images.watermark import WatermarkConfig
from imgplat_processing.ports import ObjectMissing, ObjectStore
from imgplat_processing.rejections import ImageRejected
from imgplat_processing.settings import MIB, ProcessingSettings
from imgplat_processing.workflow_state import (
    Intermediate,
    Rendered,
    Resized,
    ValidatedOriginal,
    WorkflowState,
    reports_rejections,
)

# Renditions never change once written (their key holds the original's content hash), so any cache may keep them
# for a year: "public" lets CloudFront's edge cache them (it checks the signed URL before serving from its cache),
# "immutable" spares the browser even a revalidation.
RENDITION_CACHE_CONTROL = "public, max-age=31536000, immutable"
# Intermediates are raw pixels, read once by the next step.
INTERMEDIATE_CONTENT_TYPE = "application/octet-stream"
WORK_OBJECT_NAME = "renditions.raw"
# Threads for Watermark's S3 uploads: enough to overlap them with the encodes.
IMAGE_WORKERS = 4


class OriginalChanged(Exception):
    """The original's bytes differ from the ones validated earlier in this run (it was replaced mid-run)."""


@reports_rejections
def validate(state: WorkflowState, settings: ProcessingSettings, store: ObjectStore) -> ValidatedOriginal:
    """Check the original from its object size and image headers (no pixel decode) and read its EXIF summary.

    What arrived must be what the client declared when it started the upload (Claim passes that on): S3 binds a
    PUT to both already, and the POST form to the size, but the bytes alone tell the format, and a file that is not
    what its record says would be stored with the wrong type.
    """
    limits = settings.validation_limits
    declared = state.require_claim()
    source = original_key(state.owner, state.image_id)
    size = store.object_size(settings.originals_bucket, source)
    if size > limits.max_bytes:
        raise ImageRejected("too_large", f"The file is larger than the {limits.max_bytes / MIB:g} MB limit.")
    if declared.declared_size is not None and size != declared.declared_size:
        raise ImageRejected(
            "size_mismatch",
            f"The file is {size} bytes, but the upload was started for {declared.declared_size} bytes.",
        )
    data = store.read_object(settings.originals_bucket, source)
    validated = validate_image(data, limits)
    declared_type = declared.declared_content_type
    if declared_type is not None and not fits_declared_type(declared_type, validated.format):
        raise ImageRejected(
            "type_mismatch",
            f"The file is in {display_name(validated.format)} format, but the upload was started for {declared_type}.",
        )
    exif = ExifSummary.model_validate(extract_exif_summary(data, validated.format))
    return ValidatedOriginal(**validated.model_dump(), exif=exif)


@reports_rejections
def resize(state: WorkflowState, settings: ProcessingSettings, store: ObjectStore) -> Resized:
    """Render every rendition from the original and keep their raw pixels, one after another, in the run's work
    object (work_object_key): one PUT per run whatever the number of renditions.

    Raw pixels (Image.tobytes(); offset, mode and size travel in the step result) cost a copy to write and to read,
    where a PNG costs an encode here and a decode in Watermark; the object lives for seconds and never leaves the
    bucket. Its key names this execution, so a retry rewrites the same object and a duplicate execution (Express)
    writes its own.
    """
    validated = state.require_validated()
    data = store.read_object(settings.originals_bucket, original_key(state.owner, state.image_id))
    if hashlib.sha256(data).hexdigest() != validated.sha256:
        raise OriginalChanged(f"the original of {state.image_id} changed after it was validated")
    rendered = render_renditions(data, settings.rendition_specs, validated.format)

    intermediates: dict[str, Intermediate] = {}
    pixels: list[bytes] = []
    offset = 0
    for rendition in rendered:
        image = rendition.image
        pixels.append(image.tobytes())
        intermediates[rendition.name] = Intermediate(
            offset=offset, long_edge=rendition.long_edge, width=image.width, height=image.height, mode=image.mode
        )
        offset += len(pixels[-1])
    key = work_object_key(state)
    store.write_object(
        settings.renditions_bucket,
        key,
        b"".join(pixels),
        content_type=INTERMEDIATE_CONTENT_TYPE,
        kms_key_arn=settings.kms_key_arn,
    )
    smallest = min(rendered, key=lambda rendition: rendition.long_edge).image
    return Resized(
        work_key=key,
        intermediates=intermediates,
        placeholder=blurhash_of(smallest),
        dominant_color=dominant_color(smallest),
    )


@reports_rejections
def watermark(state: WorkflowState, settings: ProcessingSettings, store: ObjectStore) -> Rendered:
    """Watermark the intermediates that the config names, encode each in settings.rendition_formats (JPEG and WebP
    by default, AVIF too for those that settings.avif_renditions names), then delete the run's work object by its
    key (no listing).

    Uploads run in a small thread pool (boto3 releases the GIL while it waits); the stamping and encoding are
    images.pipeline.watermark_and_encode's (one encode thread per CPU).
    """
    validated = state.require_validated()
    config = watermark_config(settings, store)
    resized = state.require_resized()
    intermediates = resized.intermediates
    pool = _worker_pool()

    work = memoryview(store.read_object(settings.renditions_bucket, resized.work_key))
    loaded = {
        name: Image.frombytes(
            intermediate.mode,
            (intermediate.width, intermediate.height),
            work[intermediate.offset : intermediate.offset + intermediate.byte_count],
        )
        for name, intermediate in intermediates.items()
    }
    marked = {name: config.applies_to(name) for name in intermediates}

    def publish(name: str, image_format: str, image: Image.Image, body: bytes) -> RenditionFile:
        key = rendition_key(state.owner, state.image_id, validated.sha256, name, image_format)
        store.write_object(
            settings.renditions_bucket,
            key,
            body,
            content_type=RENDITION_MIME_TYPES[image_format],
            kms_key_arn=settings.kms_key_arn,
            cache_control=RENDITION_CACHE_CONTROL,
        )
        return RenditionFile(key=key, width=image.width, height=image.height, bytes=len(body))

    # A rendition the settings no longer name (they changed between Resize and this step) gets every rendition's.
    configured = settings.rendition_formats
    formats = {name: configured.get(name, settings.every_rendition_formats) for name in loaded}
    published = watermark_and_encode(loaded, config, formats, pool, publish)
    renditions = {
        name: Rendition(
            name=name,
            long_edge=intermediate.long_edge,
            watermarked=marked[name],
            files={image_format: published[(name, image_format)] for image_format in formats[name]},
        )
        for name, intermediate in intermediates.items()
    }
    # Last, so a Watermark retried after a failed publish still finds its pixels (a failed run's prefix is removed
    # by MarkFailed, and the lifecycle rule is the backstop).
    store.delete_object(settings.renditions_bucket, resized.work_key)
    return Rendered(renditions=renditions)


def work_object_key(state: WorkflowState) -> str:
    """The run's work object: below the execution's work prefix, which the failure paths remove whole."""
    return f"{work_prefix(state.owner, state.image_id, state.execution_id)}{WORK_OBJECT_NAME}"


@functools.cache
def _worker_pool() -> ThreadPoolExecutor:
    """One small pool per container for the image steps' S3 uploads (idle threads cost nothing); the
    encodes have their own pool, one thread per CPU (images.pipeline)."""
    return ThreadPoolExecutor(max_workers=IMAGE_WORKERS, thread_name_prefix="image")


def watermark_config(settings: ProcessingSettings, store: ObjectStore) -> WatermarkConfig:
    """The watermark from settings; the logo (if any) is read from the renditions bucket once per container."""
    key = settings.watermark_logo_key
    return settings.watermark_config(logo=_watermark_logo(store, settings.renditions_bucket, key) if key else None)


@functools.cache
def _watermark_logo(store: ObjectStore, bucket: str, key: str) -> bytes | None:
    try:
        return store.read_object(bucket, key)
    except ObjectMissing:
        # A missing logo should not fail every upload: stamp the text alone and say so loudly.
        logger.error("watermark logo not found; stamping text only", extra={"bucket": bucket, "key": key})
        return None
