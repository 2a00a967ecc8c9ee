"""Claim, Persist, MarkRejected and MarkFailed on a store in memory: the record's moves and what each run cleans up."""

from __future__ import annotations

import json

import pytest
from fake_store import FakeProcessingStore
from image_settings import PROCESSING_SETTINGS
from imgplat_common.image_events import ImageEvent, ImageFailed, ImageReady, ImageRejected, RenditionSummary
from imgplat_common.keys import new_image_id, original_key, rendition_key, work_prefix
from imgplat_common.models import ExifSummary, ImageRecord, Rendition, RenditionFile, utc_now_iso
from imgplat_common.original_tags import REJECTED_ORIGINAL_TAGS
from imgplat_common.status import ImageStatus
from imgplat_processing.bookkeeping_steps import (
    FAILED_REASON,
    claim,
    mark_failed,
    mark_rejected,
    persist,
)
from imgplat_processing.ports import TransientError
from imgplat_processing.workflow_state import (
    ProcessingRequest,
    Rendered,
    Resized,
    StaleEvent,
    StepError,
    ValidatedOriginal,
    WorkflowState,
)

OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
SHA256 = "ab" * 32
SETTINGS = PROCESSING_SETTINGS


def _uploaded(store: FakeProcessingStore) -> WorkflowState:
    """A PENDING record and its original, as upload leaves them; the state the workflow starts with."""
    image_id = new_image_id()
    record = ImageRecord.pending(OWNER, image_id, "image/jpeg", utc_now_iso())
    store.records[(OWNER, image_id)] = record.to_item()
    stored = store.put(SETTINGS.originals_bucket, record.original_key, b"jpeg bytes")
    request = ProcessingRequest.for_object(
        SETTINGS.originals_bucket, record.original_key, size=10, version_id=stored.version_id, etag=stored.etag
    )
    return WorkflowState.model_validate(request.model_dump())


def _validated() -> ValidatedOriginal:
    return ValidatedOriginal(
        format="JPEG",
        mime_type="image/jpeg",
        width=1600,
        height=1200,
        frames=1,
        mode="RGB",
        bytes=10,
        sha256=SHA256,
        exif=ExifSummary(camera_make="Fujifilm"),
    )


def _published_rendition(store: FakeProcessingStore, state: WorkflowState) -> str:
    key = rendition_key(state.owner, state.image_id, SHA256, "thumb", "jpeg")
    store.put(SETTINGS.renditions_bucket, key, b"rendition")
    return key


def _work_file(store: FakeProcessingStore, state: WorkflowState) -> str:
    key = f"{work_prefix(state.owner, state.image_id, state.run_id)}thumb.rgb"
    store.put(SETTINGS.renditions_bucket, key, b"pixels")
    return key


def _record(store: FakeProcessingStore, state: WorkflowState) -> ImageRecord:
    return ImageRecord.from_item(store.records[(state.owner, state.image_id)])


def _rejected_error(code: str, reason: str) -> StepError:
    message = json.dumps({"code": code, "reason": reason})
    return StepError.model_validate({"Error": "ImageRejected", "Cause": json.dumps({"errorMessage": message})})


def _claimed_with_run_files(store: FakeProcessingStore) -> WorkflowState:
    """An uploaded image claimed and validated by its run, which has written a work file and one rendition."""
    state = _uploaded(store)
    state = state.model_copy(update={"claim": claim(state, SETTINGS, store), "validated": _validated()})
    _work_file(store, state)
    _published_rendition(store, state)
    return state


def test_claim_moves_a_pending_image_to_processing_for_this_run():
    store = FakeProcessingStore()
    state = _uploaded(store)

    claim(state, SETTINGS, store)

    record = _record(store, state)
    assert (record.status, record.run_id) == (ImageStatus.PROCESSING, state.run_id)


def test_a_retried_claim_of_the_same_run_succeeds_again():
    store = FakeProcessingStore()
    state = _uploaded(store)
    claim(state, SETTINGS, store)

    claim(state, SETTINGS, store)

    assert _record(store, state).status is ImageStatus.PROCESSING


def test_claim_of_an_image_another_run_holds_is_a_stale_event():
    # Given another run claimed the image
    store = FakeProcessingStore()
    state = _uploaded(store)
    claim(state.model_copy(update={"run_id": f"{state.image_id}-0000000000000001"}), SETTINGS, store)

    # When this run claims it, then it has nothing to do
    with pytest.raises(StaleEvent):
        claim(state, SETTINGS, store)


def test_persist_makes_the_image_ready_with_what_the_steps_learned():
    # Given a run that claimed, validated, resized and rendered the image
    store = FakeProcessingStore()
    state = _uploaded(store)
    state = state.model_copy(update={"claim": claim(state, SETTINGS, store), "validated": _validated()})
    state = state.model_copy(
        update={
            "resized": Resized(
                work_key="work/unused",
                intermediates={},
                placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                dominant_color="#1a2b3c",
            ),
            "rendered": Rendered(renditions={}),
        }
    )

    # When Persist runs
    persisted = persist(state, SETTINGS, store)

    # Then the record is READY with the image's facts
    record = _record(store, state)
    assert persisted.status is record.status is ImageStatus.READY
    assert (record.width, record.height, record.sha256, record.dominant_color) == (1600, 1200, SHA256, "#1a2b3c")
    assert record.exif == ExifSummary(camera_make="Fujifilm")
    assert set(record.library_versions) == {"pillow", "python"}


def test_mark_rejected_records_the_reason_tags_the_original_and_removes_the_runs_files():
    # Given a claimed image that Validate rejected, with a work file and a rendition already written
    store = FakeProcessingStore()
    state = _claimed_with_run_files(store)
    state = state.model_copy(update={"error": _rejected_error("too_large", "The file is too large.")})

    # When MarkRejected runs
    outcome = mark_rejected(state, SETTINGS, store)

    # Then the record says why, the original is tagged for expiry and nothing of the run is left
    assert (outcome.status, outcome.recorded, outcome.reason) == (ImageStatus.REJECTED, True, "The file is too large.")
    assert _record(store, state).reason == "The file is too large."
    assert (
        store.objects[(SETTINGS.originals_bucket, original_key(OWNER, state.image_id))].tags == REJECTED_ORIGINAL_TAGS
    )
    assert store.keys(SETTINGS.renditions_bucket) == []


def test_mark_failed_on_a_deleted_image_ends_as_image_gone_and_creates_no_record():
    # Given the owner deleted the image (record and all) while its run was working
    store = FakeProcessingStore()
    state = _claimed_with_run_files(store)
    del store.records[(state.owner, state.image_id)]

    # When MarkFailed runs
    outcome = mark_failed(state, SETTINGS, store)

    # Then it is no failure: no record comes back, and the run's files are removed
    assert (outcome.image_gone, outcome.recorded) == (True, False)
    assert store.records == {}
    assert store.keys(SETTINGS.renditions_bucket) == []


def test_mark_failed_leaves_the_renditions_of_a_record_another_run_made_ready():
    # Given a newer run made the image READY, serving renditions under the same content-hash keys
    store = FakeProcessingStore()
    state = _uploaded(store)
    state = state.model_copy(update={"validated": _validated()})
    newer = state.model_copy(update={"run_id": f"{state.image_id}-0000000000000002"})
    claim(newer, SETTINGS, store)
    store.records[(state.owner, state.image_id)]["status"] = ImageStatus.READY.value
    served = _published_rendition(store, state)
    work = _work_file(store, state)

    # When this (older) run ends as failed
    outcome = mark_failed(state, SETTINGS, store)

    # Then the record and the renditions it serves stay; only this run's own work files go
    assert (outcome.recorded, outcome.image_gone) == (False, False)
    assert _record(store, state).status is ImageStatus.READY
    assert store.keys(SETTINGS.renditions_bucket) == [served]
    assert work not in store.keys(SETTINGS.renditions_bucket)


# --- the platform's events ------------------------------------------------------------------------------------------


def _rendered_state(store: FakeProcessingStore) -> WorkflowState:
    """A run that claimed, validated, resized and rendered the image (one rendition, two formats)."""
    state = _uploaded(store)
    state = state.model_copy(update={"claim": claim(state, SETTINGS, store), "validated": _validated()})
    files = {
        image_format: RenditionFile(
            key=rendition_key(OWNER, state.image_id, SHA256, "thumb", image_format), width=150, height=113, bytes=9
        )
        for image_format in ("jpeg", "webp")
    }
    thumb = Rendition(name="thumb", long_edge=150, files=files)
    return state.model_copy(
        update={
            "resized": Resized(
                work_key="work/unused",
                intermediates={},
                placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                dominant_color="#1a2b3c",
            ),
            "rendered": Rendered(renditions={"thumb": thumb}),
        }
    )


def _published(store: FakeProcessingStore) -> list[ImageEvent]:
    return list(store.events.get(SETTINGS.event_bus_name, []))


def test_persist_publishes_image_ready_with_the_rendition_list_and_no_storage_keys():
    store = FakeProcessingStore()
    state = _rendered_state(store)

    persist(state, SETTINGS, store)

    (event,) = _published(store)
    assert isinstance(event, ImageReady)
    assert (event.image_id, event.owner, event.status) == (state.image_id, OWNER, "READY")
    assert event.renditions == [RenditionSummary(name="thumb", width=150, height=113, formats=["jpeg", "webp"])]
    assert "renditions/" not in event.model_dump_json()  # no key (and so no path into a bucket) leaves the platform


def test_a_refused_ready_event_fails_the_step_and_its_retry_publishes_the_same_event_id():
    # Given EventBridge refuses the first publish of a finished run
    store = FakeProcessingStore()
    state = _rendered_state(store)
    store.refuse_events = 1

    # When Persist runs, then the step fails (Step Functions retries TransientError) with the record already READY
    with pytest.raises(TransientError):
        persist(state, SETTINGS, store)
    assert _record(store, state).status is ImageStatus.READY

    # And its retry publishes the event, whose id is the one every publish of this run gets
    persist(state, SETTINGS, store)
    persist(state, SETTINGS, store)
    first, second = _published(store)
    assert first.event_id == second.event_id


def test_mark_rejected_publishes_image_rejected_with_the_reason():
    store = FakeProcessingStore()
    state = _claimed_with_run_files(store)
    state = state.model_copy(update={"error": _rejected_error("too_large", "The file is too large.")})

    mark_rejected(state, SETTINGS, store)

    (event,) = _published(store)
    assert isinstance(event, ImageRejected)
    assert (event.image_id, event.owner, event.reason) == (state.image_id, OWNER, "The file is too large.")


def test_mark_failed_publishes_image_failed_with_the_records_error_id():
    store = FakeProcessingStore()
    state = _claimed_with_run_files(store)

    outcome = mark_failed(state, SETTINGS, store)

    (event,) = _published(store)
    assert isinstance(event, ImageFailed)
    assert event.error_id == outcome.error_id == _record(store, state).error_id
    assert event.reason == FAILED_REASON


def test_endings_that_wrote_nothing_publish_nothing():
    # Given one image deleted during its run, and one another run made READY
    store = FakeProcessingStore()
    gone = _claimed_with_run_files(store)
    del store.records[(gone.owner, gone.image_id)]
    overtaken = _uploaded(store)
    claim(overtaken.model_copy(update={"run_id": f"{overtaken.image_id}-0000000000000002"}), SETTINGS, store)

    # When their runs end as failed or rejected
    mark_failed(gone, SETTINGS, store)
    mark_rejected(overtaken, SETTINGS, store)

    # Then no consumer hears of a status the table does not hold
    assert _published(store) == []


def test_event_ids_differ_between_runs_and_between_outcomes():
    store = FakeProcessingStore()
    first, second = _rendered_state(store), _rendered_state(store)
    rejected = _claimed_with_run_files(store)

    persist(first, SETTINGS, store)
    persist(second, SETTINGS, store)
    mark_rejected(rejected, SETTINGS, store)

    assert len({event.event_id for event in _published(store)}) == 3
