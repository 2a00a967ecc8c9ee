"""The workflow's steps that touch no pixels (statemachine.asl.yaml): Claim, Persist, and the two endings
MarkRejected and MarkFailed. The image steps are in image_steps.py, so the handlers of these load no Pillow.

Claim also keeps the originals bucket free of files nobody owns: it re-tags an original its record owns `claimed`
(every upload arrives `unclaimed`, which a lifecycle rule expires) and removes one that has no record at all (an
upload to the still-valid URL of an image its owner deleted). It never removes an original whose record exists.

Every step may run twice for the same execution (Step Functions retries): writes are conditional or go to keys
owned by the execution. Every status write is conditional on the execution's id (WorkflowState.execution_id), not
only on the run id: a second execution of the same run (possible with an Express workflow, which does not
de-duplicate by name) finds the image claimed by the first and ends AlreadyHandled.

Persist, MarkRejected and MarkFailed publish the image's event (ImageReady, ImageRejected, ImageFailed) after their
status write, and only when this run wrote it. A publish that fails raises, so Step Functions retries the step: the
run's own write repeats harmlessly and the event goes out again under the same event id (at least once, never
silently lost; consumers de-duplicate on the id). A step whose retries run out ends the execution failed, which
raises the workflow alarm; every failed attempt logs the whole event, for a replay by hand.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping
from enum import Enum
from typing import Any

from imgplat_common.errors import new_error_id
from imgplat_common.image_events import ImageEvent, ImageFailed, ImageReady, ImageRejected
from imgplat_common.keys import original_key, rendition_key, work_prefix
from imgplat_common.models import RENDITION_FORMATS
from imgplat_common.observability import logger
from imgplat_common.original_tags import CLAIMED_ORIGINAL_TAGS, REJECTED_ORIGINAL_TAGS
from imgplat_common.status import ImageStatus

from imgplat_processing.ports import ConditionFailed, EventPublishFailed, ReadyByThisRun, RecordMissing, StepStore
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

FAILED_REASON = "processing failed"  # what ImageFailed says of a run's failure; the cause stays in the logs


def now_ms() -> int:
    return int(time.time() * 1000)


def library_versions() -> dict[str, str]:
    """The versions that shaped the outputs, stored with each image so renditions can be traced and redone."""
    # Pillow's package alone (its __init__ loads no image code), imported here so that only Persist loads it.
    # Not importlib.metadata.version("pillow"): the Lambda zip's slim build drops every *.dist-info, so it finds none.
    import PIL

    return {"pillow": PIL.__version__, "python": platform.python_version()}


def claim(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Claimed:
    """PENDING -> PROCESSING for this run, with what the client declared; StaleEvent when the image is not this
    run's to process. An original without a record is removed before the StaleEvent; one with a record never is.
    """
    claimed_at = now_ms()
    original = original_key(state.owner, state.image_id)
    try:
        record = _transition(state, settings, store, ImageStatus.PROCESSING)
    except RecordMissing as missing:
        # No record owns this key (deleted, or never made): nobody could ever see or delete the file but us.
        store.delete_objects(settings.originals_bucket, [original])
        logger.info("removed an original that has no image record", extra={"key": original})
        raise StaleEvent(f"image {state.image_id} has no record; its original was removed") from missing
    except ConditionFailed as refused:
        raise StaleEvent(f"image {state.image_id} is finished or claimed by another execution") from refused
    store.tag_object(settings.originals_bucket, original, CLAIMED_ORIGINAL_TAGS)
    declared_size = record.get("declared_size")
    return Claimed(
        claimed_at_ms=claimed_at,
        declared_content_type=record.get("content_type"),
        declared_size=None if declared_size is None else int(declared_size),
    )


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
) -> Mapping[str, Any]:
    """Move this run's image to `target` (the store raises ConditionFailed or RecordMissing when it may not); the
    record as written."""
    return store.transition(
        settings.images_table,
        owner=state.owner,
        image_id=state.image_id,
        target=target,
        run_id=state.execution_id,
        fields=fields,
    )


def persist(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Persisted:
    """PROCESSING (this run) -> READY, with everything the record shows about the image."""
    validated = state.require_validated()
    resized = state.require_resized()
    processing_ms = max(0, now_ms() - state.require_claim().claimed_at_ms)
    rendered = state.require_rendered()
    fields: dict[str, Any] = {
        "width": validated.width,
        "height": validated.height,
        "format": validated.format,
        "bytes": validated.bytes,
        "sha256": validated.sha256,
        "exif": validated.exif.model_dump(mode="json", exclude_none=True),
        "placeholder": resized.placeholder,
        "dominant_color": resized.dominant_color,
        "renditions": {name: rendition.model_dump(mode="json") for name, rendition in rendered.renditions.items()},
        "processing_ms": processing_ms,
        "library_versions": library_versions(),
    }
    stale = f"image {state.image_id} is no longer claimed by execution {state.execution_id}"
    _move_this_runs_image(state, settings, store, ImageStatus.READY, stale=stale, fields=fields)
    _publish(
        store,
        settings,
        ImageReady.of_run(state.owner, state.image_id, state.run_id, list(rendered.renditions.values())),
    )
    return Persisted(status=ImageStatus.READY, processing_ms=processing_ms)


def mark_rejected(state: WorkflowState, settings: ProcessingSettings, store: StepStore) -> Outcome:
    """REJECTED with the reason a user can read; the original is tagged for expiry and this run's files go."""
    code, reason = rejection_from(state.error)
    logger.info("marking image rejected", extra={"code": code, "reason": reason})
    ending = _record_ending(state, settings, store, ImageStatus.REJECTED, {"reason": reason})
    if ending is _Ending.RECORDED:
        store.tag_object(settings.originals_bucket, original_key(state.owner, state.image_id), REJECTED_ORIGINAL_TAGS)
        _publish(store, settings, ImageRejected.of_run(state.owner, state.image_id, state.run_id, reason))
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
    elif ending in {_Ending.MOVED_ON, _Ending.READY_BY_THIS_RUN}:  # settled: this run's error cost the image nothing
        logger.warning("run failed after its image was settled; the record is left as it is", extra=details)
    else:
        logger.error("image processing failed", extra=details)
    if ending is _Ending.RECORDED:
        _publish(
            store, settings, ImageFailed.of_run(state.owner, state.image_id, state.run_id, FAILED_REASON, error_id)
        )
    elif ending is _Ending.READY_BY_THIS_RUN and state.rendered is not None:
        # Persist's write landed but its worker died on every attempt: the ImageReady it owed goes out now (same
        # event id as Persist's, so a consumer that did get one sees a duplicate to drop, never a second image).
        renditions = list(state.rendered.renditions.values())
        _publish(store, settings, ImageReady.of_run(state.owner, state.image_id, state.run_id, renditions))
    return ending.outcome(ImageStatus.FAILED, error_id=error_id)


def _publish(store: StepStore, settings: ProcessingSettings, event: ImageEvent) -> None:
    """Publish the run's event; a failure is logged with the whole event and raised, for Step Functions to retry."""
    try:
        store.publish_event(settings.event_bus_name, event)
    except EventPublishFailed:
        logger.warning("event not published; the step fails", extra={"event": event.entry(settings.event_bus_name)})
        raise


class _Ending(Enum):
    """How writing a run's final status went."""

    RECORDED = "recorded"  # this run wrote the final status
    MOVED_ON = "moved_on"  # the record is finished or belongs to another run: left as it is
    READY_BY_THIS_RUN = "ready_by_this_run"  # this run's own Persist made it READY: left as it is
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
    except ReadyByThisRun:
        logger.warning("this run already made the image READY; leaving it as it is", extra={"target": target.value})
        ending = _Ending.READY_BY_THIS_RUN
    except ConditionFailed:
        logger.warning("record already moved on; leaving it as it is", extra={"target": target.value})
        ending = _Ending.MOVED_ON
    store.delete_prefix(settings.renditions_bucket, work_prefix(state.owner, state.image_id, state.execution_id))
    if ending in {_Ending.RECORDED, _Ending.IMAGE_GONE} and state.validated is not None:
        store.delete_objects(settings.renditions_bucket, _rendition_keys(state, settings, state.validated.sha256))
    return ending


def _rendition_keys(state: WorkflowState, settings: ProcessingSettings, content_hash: str) -> list[str]:
    return [
        rendition_key(state.owner, state.image_id, content_hash, spec.name, image_format)
        for spec in settings.rendition_specs
        for image_format in RENDITION_FORMATS
    ]
