"""The reconciler: the backstop that finds images stuck before a terminal status and re-drives or fails them.

Nothing should get stuck: every run ends in READY, REJECTED or FAILED (statemachine.asl.yaml), and every ingest
message is retried, then kept in the dead-letter queue (its alarm calls a human). What is left is what no run
finishes: a notification in the DLQ (a poison message), a run that timed out or was stopped, an ending that itself
failed, or an upload URL that was never used. Every few minutes (serverless.yml: reconciler) this module decides:

- PENDING with the original in the bucket, last written over stuck_after_seconds ago: start the run for that
  object version (the same deterministic name every round, so never two runs). If that run already exists and has
  ended, or cannot be started: FAILED "processing did not finish".
- PENDING without an original, older than upload_window_seconds (its upload URL has expired): FAILED "no upload
  received". Kept rather than deleted, so the owner sees what happened (and deletes it like any image).
- PROCESSING, last written over stuck_after_seconds ago (longer than the workflow's TimeoutSeconds, so its run has
  ended): FAILED "processing did not finish".

FAILED carries a new error id, logged with the cause, like a run's own MarkFailed; the write is conditional on the
record being unchanged since it was read, so a run that finishes meanwhile wins. The image's work files and
renditions are removed (a FAILED image serves none). Records are found with a Query on upload's status/updated_at
index, never a Scan. Each image failed here is announced with ImageFailed, like a run's own failure; its event id
comes from the record's last write, which the conditional write makes this failing's alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from imgplat_common.errors import new_error_id
from imgplat_common.image_events import ImageFailed
from imgplat_common.keys import original_key, rendition_prefix, work_prefix
from imgplat_common.observability import logger
from imgplat_common.status import ImageStatus
from pydantic import BaseModel, ConfigDict

from imgplat_processing.ports import ReconcilerStore, TransientError
from imgplat_processing.settings import ReconcilerSettings
from imgplat_processing.workflow_state import ProcessingRequest

DID_NOT_FINISH = "processing did not finish"
NO_UPLOAD = "no upload received"


class StuckRecord(BaseModel):
    """What the status index holds of a record: its keys, status, last write and the run that claimed it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str
    image_id: str
    status: ImageStatus
    updated_at: str
    run_id: str | None = None


@dataclass
class Reconciliation:
    """What one scheduled run did: image ids re-driven, failed (with the reason), and left for a later run."""

    redriven: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)
    # Failed images whose ImageFailed the bus refused: subscribers never heard of them (each one pages).
    unannounced: list[str] = field(default_factory=list)

    @property
    def reconciled(self) -> int:
        return len(self.redriven) + len(self.failed)

    @property
    def lost(self) -> list[str]:
        """Images failed because their processing was lost (a dead-lettered message, a dead run): what pages."""
        return [image_id for image_id, reason in self.failed.items() if reason != NO_UPLOAD]

    @property
    def unused_uploads(self) -> list[str]:
        """Images failed because nobody uploaded to their URL: a user's choice, counted but not alarmed on."""
        return [image_id for image_id, reason in self.failed.items() if reason == NO_UPLOAD]


def iso(moment: datetime) -> str:
    """The record timestamps' format (imgplat_common.models.utc_now_iso), so the index compares them as text."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reconcile(settings: ReconcilerSettings, store: ReconcilerStore, now: datetime) -> Reconciliation:
    """Find the stuck records (oldest first, a batch per status) and re-drive or fail each one."""
    done = Reconciliation()
    stuck_before = iso(now - timedelta(seconds=settings.stuck_after_seconds))
    for status in (ImageStatus.PENDING, ImageStatus.PROCESSING):
        items = store.records_in_status_before(
            settings.images_table, settings.images_status_index, status, stuck_before, settings.reconcile_batch_size
        )
        for item in items:
            record = StuckRecord.model_validate(item)
            logger.set_correlation_id(record.image_id)
            try:
                if record.status is ImageStatus.PENDING:
                    _reconcile_pending(record, settings, store, now, done)
                else:
                    cause = "the run's execution ended without a final status"
                    _fail(record, settings, store, done, reason=DID_NOT_FINISH, cause=cause)
            finally:
                logger.set_correlation_id(None)
    return done


def _reconcile_pending(
    record: StuckRecord, settings: ReconcilerSettings, store: ReconcilerStore, now: datetime, done: Reconciliation
) -> None:
    key = original_key(record.owner, record.image_id)
    version = store.object_version(settings.originals_bucket, key)
    if version is None:
        if record.updated_at < iso(now - timedelta(seconds=settings.upload_window_seconds)):
            _fail(record, settings, store, done, reason=NO_UPLOAD, cause="the upload URL expired unused")
        else:
            done.left.append(record.image_id)  # its upload URL may still be in use
        return
    # The request, and so the run's name, the orchestrator makes for this object version: the same every round,
    # so the reconciler never starts two runs for one version, nor one beside the orchestrator's.
    request = ProcessingRequest.for_object(
        settings.originals_bucket, key, size=version.size, version_id=version.version_id, etag=version.etag
    )
    run_id = request.run_id
    try:
        started = store.start_execution(settings.state_machine_arn, run_id, request.execution_input())
        status = "STARTED" if started else store.execution_status(settings.state_machine_arn, run_id)
    except Exception as error:
        cause = f"re-driving failed: {type(error).__name__}: {error}"
    else:
        if status == "STARTED":
            logger.info("stuck upload re-driven", extra={"run_id": run_id})
            done.redriven.append(record.image_id)
            return
        if status == "RUNNING":
            done.left.append(record.image_id)  # the re-driven run has not claimed it yet; it ends within its timeout
            return
        cause = f"the re-driven run {run_id} ended {status} without a status"
    _fail(record, settings, store, done, reason=DID_NOT_FINISH, cause=cause)


def _fail(
    record: StuckRecord,
    settings: ReconcilerSettings,
    store: ReconcilerStore,
    done: Reconciliation,
    *,
    reason: str,
    cause: str,
) -> None:
    error_id = new_error_id()
    failed = store.fail_if_unchanged(
        settings.images_table,
        owner=record.owner,
        image_id=record.image_id,
        status=record.status,
        updated_at=record.updated_at,
        fields={"error_id": error_id, "reason": reason},
    )
    if not failed:
        logger.info("stuck record moved on before it was failed; left as it is")
        return
    # An upload URL left unused is a client's choice, not the platform's fault: noted, not an error for on-call.
    log = logger.info if reason == NO_UPLOAD else logger.error
    log(
        "stuck image failed by the reconciler",
        extra={"error_id": error_id, "reason": reason, "cause": cause, "was": record.status.value},
    )
    # A FAILED image serves nothing: remove whatever an unfinished run wrote (renditions and work files).
    store.delete_prefix(settings.renditions_bucket, rendition_prefix(record.owner, record.image_id))
    if record.run_id:
        store.delete_prefix(settings.renditions_bucket, work_prefix(record.owner, record.image_id, record.run_id))
    done.failed[record.image_id] = reason
    failed_event = ImageFailed.of_run(record.owner, record.image_id, f"stuck@{record.updated_at}", reason, error_id)
    try:
        store.publish_event(settings.event_bus_name, failed_event)
    except TransientError:
        # The record is FAILED now, so no later round finds it again: the event is logged whole for a manual replay.
        logger.exception("ImageFailed not published", extra={"event": failed_event.entry(settings.event_bus_name)})
        done.unannounced.append(record.image_id)
