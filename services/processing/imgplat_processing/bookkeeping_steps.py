"""The workflow's steps that touch no pixels (statemachine.asl.yaml): Claim, Persist, and the two endings
MarkRejected and MarkFailed. The image steps are in image_steps.py, so the handlers of these load no Pillow.

Every step may run twice for the same run (Step Functions retries): writes are conditional or go to keys owned by
the run.
"""

from __future__ import annotations

import platform
import time
from enum import Enum
from typing import Any

from imgplat_common.errors import new_error_id
from imgplat_common.keys import original_key, rendition_key, work_prefix
from imgplat_common.models import RENDITION_FORMATS
from imgplat_common.observability import logger
from imgplat_common.status import ImageStatus

from imgplat_processing.ports import ConditionFailed, RecordMissing, StepStore
from imgplat_processing.settings import ProcessingSettings
from imgplat_processing.workflow_state import (
    Claimed,
    Outcome,
    Persisted,
    StaleEvent,
    StepError,
    WorkflowState,
    rejection_from,
)

REJECTED_ORIGINAL_TAGS = {"status": "rejected"}  # the originals bucket's lifecycle expires these


def now_ms() -> int:
    return int(time.time() * 1000)


def library_versions() -> dict[str, str]:
    """The versions that shaped the outputs, stored with each image so renditions can be traced and redone."""
    # Pillow's package alone (its __init__ loads no image code), imported here so that only Persist loads it.
    # Not importlib.metadata.version("pillow"): the Lambda zip's slim build drops every *.dist-info, so it finds none.
    import PIL

    return {"pillow": PIL.__version__, "python": platform.python_version()}


def claim(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Claimed:
    """PENDING -> PROCESSING for this run; StaleEvent when the image is not this run's to process."""
    claimed_at = now_ms()
    stale = f"image {state.image_id} is missing, finished or claimed by another run"
    _move_this_runs_image(state, settings, store, ImageStatus.PROCESSING, stale=stale)
    return Claimed(claimed_at_ms=claimed_at)


def _move_this_runs_image(
    state: WorkflowState,
    settings: ProcessingSettings,
    store: StepStore,
    target: ImageStatus,
    *,
    stale: str,
    fields: dict[str, Any] | None = None,
) -> None:
    """The run's conditional status write; StaleEvent (with `stale` as its message) when the condition fails."""
    try:
        _transition(state, settings, store, target, fields)
    except ConditionFailed as refused:
        raise StaleEvent(stale) from refused


def _transition(
    state: WorkflowState,
    settings: ProcessingSettings,
    store: StepStore,
    target: ImageStatus,
    fields: dict[str, Any] | None = None,
) -> None:
    """Move this run's image to `target` (the store raises ConditionFailed or RecordMissing when it may not)."""
    store.transition(
        settings.images_table,
        owner=state.owner,
        image_id=state.image_id,
        target=target,
        run_id=state.run_id,
        fields=fields,
    )


def persist(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Persisted:
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
    stale = f"image {state.image_id} is no longer claimed by run {state.run_id}"
    _move_this_runs_image(state, settings, store, ImageStatus.READY, stale=stale, fields=fields)
    return Persisted(status=ImageStatus.READY, processing_ms=processing_ms)


def mark_rejected(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Outcome:
    """REJECTED with the reason a user can read; the original is tagged for expiry and this run's files go."""
    code, reason = rejection_from(state.error)
    logger.info("marking image rejected", extra={"code": code, "reason": reason})
    ending = _record_ending(state, settings, store, ImageStatus.REJECTED, {"reason": reason})
    if ending is _Ending.RECORDED:
        store.tag_object(settings.originals_bucket, original_key(state.owner, state.image_id), REJECTED_ORIGINAL_TAGS)
    return ending.outcome(ImageStatus.REJECTED, reason=reason)


def mark_failed(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Outcome:
    """FAILED with a new error id, logged with the error so support can find it; this run's files go.

    An image its owner deleted during the run is no failure, nor is one whose record already moved on (READY):
    the run only removes what it wrote.
    """
    error_id = new_error_id()
    error = state.error or StepError()
    ending = _record_ending(state, settings, store, ImageStatus.FAILED, {"error_id": error_id})
    details = {"error_id": error_id, "error": error.error, "cause": error.cause}
    if ending is _Ending.IMAGE_GONE:
        logger.info("image deleted during processing; this run's files were removed", extra=details)
    elif ending is _Ending.MOVED_ON:  # READY or finished by another run: this run's error cost the image nothing
        logger.warning("run failed after its image was settled; the record is left as it is", extra=details)
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
    state: WorkflowState, settings: ProcessingSettings, store: StepStore, target: ImageStatus, fields: dict[str, Any]
) -> _Ending:
    """Write the final status and remove the run's files.

    The run's work prefix is always its own. Renditions are keyed by content, not by run, so they are deleted only
    when this run still owned the record, or when the record is gone (nobody serves them any more): a record that is
    READY, or another run's, may be serving the very same keys.
    """
    try:
        _transition(state, settings, store, target, fields)
        ending = _Ending.RECORDED
    except RecordMissing:
        logger.info("the image was deleted during processing", extra={"target": target.value})
        ending = _Ending.IMAGE_GONE
    except ConditionFailed:
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
