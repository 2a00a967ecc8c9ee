"""The reconciler's decisions on a store in memory: which stuck records it re-drives, fails or leaves alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial

from fake_store import FakeProcessingStore
from image_settings import TEST_RESOURCE_NAMES
from imgplat_common.image_events import ImageFailed
from imgplat_common.keys import new_image_id, original_key, rendition_key, work_prefix
from imgplat_common.models import ImageRecord
from imgplat_common.status import ImageStatus
from imgplat_processing.orchestration import start_workflows
from imgplat_processing.reconciliation import DID_NOT_FINISH, NO_UPLOAD, iso, reconcile
from imgplat_processing.settings import ReconcilerSettings

OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SETTINGS = ReconcilerSettings(
    **TEST_RESOURCE_NAMES,
    state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:workflow",
    images_status_index="status-updated_at",
)
STUCK = timedelta(seconds=SETTINGS.stuck_after_seconds + 60)
NEVER_UPLOADED = timedelta(seconds=SETTINGS.upload_window_seconds + 60)


def _record(store: FakeProcessingStore, age: timedelta, status: ImageStatus = ImageStatus.PENDING) -> ImageRecord:
    """A record last written `age` before NOW."""
    record = ImageRecord.pending(OWNER, new_image_id(), "image/jpeg", iso(NOW - age))
    item = record.to_item()
    if status is ImageStatus.PROCESSING:
        item.update(status=status.value, run_id=f"{record.image_id}-0123456789abcdef")
    store.records[(OWNER, record.image_id)] = item
    return record


def _status(store: FakeProcessingStore, record: ImageRecord) -> ImageStatus:
    return ImageStatus(store.records[(record.owner, record.image_id)]["status"])


def _s3_notification(key: str, etag: str, version_id: str | None) -> str:
    version = {"versionId": version_id} if version_id else {}
    s3_object = {"key": key, "size": 10, "eTag": etag, "sequencer": "0055AED6DCD90281E5", **version}
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "originals"}, "object": s3_object}}
    return json.dumps({"Records": [record]})


def test_a_stuck_upload_is_redriven_under_the_run_name_the_orchestrator_gives_it():
    # Given an original that arrived, whose notification was lost (its record stuck in PENDING)
    for versioned in (True, False):
        store = FakeProcessingStore(versioned=versioned)
        record = _record(store, STUCK)
        stored = store.put(SETTINGS.originals_bucket, record.original_key, b"jpeg bytes")

        # When the reconciler runs
        done = reconcile(SETTINGS, store, NOW)

        # Then it starts the run, named as the orchestrator names it: a late notification starts no second run
        assert done.redriven == [record.image_id]
        notification = _s3_notification(record.original_key, stored.etag, stored.version_id)
        late = start_workflows(
            notification, SETTINGS.originals_bucket, partial(store.start_execution, SETTINGS.state_machine_arn)
        )
        assert (late.started, late.duplicates) == (0, 1)
        assert len(store.executions) == 1


def test_a_redriven_run_that_already_ended_fails_the_image():
    store = FakeProcessingStore()
    record = _record(store, STUCK)
    store.put(SETTINGS.originals_bucket, record.original_key, b"jpeg bytes")
    reconcile(SETTINGS, store, NOW)
    (execution,) = store.executions.values()
    execution.status = "FAILED"

    done = reconcile(SETTINGS, store, NOW + STUCK)

    assert done.failed == {record.image_id: DID_NOT_FINISH}
    assert _status(store, record) is ImageStatus.FAILED


def test_an_upload_never_received_fails_once_its_url_expired_and_not_before():
    store = FakeProcessingStore()
    expired = _record(store, NEVER_UPLOADED)
    maybe_still_uploading = _record(store, STUCK)

    done = reconcile(SETTINGS, store, NOW)

    assert done.failed == {expired.image_id: NO_UPLOAD}
    assert done.left == [maybe_still_uploading.image_id]
    assert _status(store, maybe_still_uploading) is ImageStatus.PENDING


def test_a_stuck_processing_image_fails_and_loses_what_its_run_wrote():
    # Given a run that claimed the image, wrote a rendition and a work file, then died
    store = FakeProcessingStore()
    record = _record(store, STUCK, ImageStatus.PROCESSING)
    run_id = store.records[(OWNER, record.image_id)]["run_id"]
    store.put(SETTINGS.renditions_bucket, rendition_key(OWNER, record.image_id, "ab" * 32, "thumb", "jpeg"), b"r")
    store.put(SETTINGS.renditions_bucket, f"{work_prefix(OWNER, record.image_id, run_id)}thumb.rgb", b"w")

    done = reconcile(SETTINGS, store, NOW)

    assert done.failed == {record.image_id: DID_NOT_FINISH}
    item = store.records[(OWNER, record.image_id)]
    assert item["status"] == ImageStatus.FAILED.value and len(item["error_id"]) == 32
    assert store.keys(SETTINGS.renditions_bucket) == []


def test_records_younger_than_the_deadline_are_not_looked_at():
    store = FakeProcessingStore()
    young = _record(store, timedelta(seconds=10), ImageStatus.PROCESSING)
    store.put(SETTINGS.originals_bucket, original_key(OWNER, young.image_id), b"jpeg bytes")

    done = reconcile(SETTINGS, store, NOW)

    assert (done.redriven, done.failed, done.left) == ([], {}, [])
    assert _status(store, young) is ImageStatus.PROCESSING


def test_an_image_the_reconciler_fails_is_announced_as_image_failed():
    store = FakeProcessingStore()
    record = _record(store, STUCK, ImageStatus.PROCESSING)

    reconcile(SETTINGS, store, NOW)

    (event,) = store.events[SETTINGS.event_bus_name]
    item = store.records[(OWNER, record.image_id)]
    assert isinstance(event, ImageFailed)
    assert (event.image_id, event.owner, event.reason, event.error_id) == (
        record.image_id,
        OWNER,
        DID_NOT_FINISH,
        item["error_id"],
    )


def test_a_refused_image_failed_event_does_not_stop_the_round():
    # Given two stuck images and an EventBridge that refuses the first announcement
    store = FakeProcessingStore()
    first, second = _record(store, STUCK, ImageStatus.PROCESSING), _record(store, STUCK, ImageStatus.PROCESSING)
    store.refuse_events = 1

    done = reconcile(SETTINGS, store, NOW)

    # Then both are failed and the second is still announced
    assert set(done.failed) == {first.image_id, second.image_id}
    assert len(store.events[SETTINGS.event_bus_name]) == 1
