"""An upload is bound to what its client declared: Claim passes the record's declared type and size on, Validate
rejects an original that differs with a reason the user can read, and an original no record owns is removed (but
never one whose record exists)."""

from __future__ import annotations

import json

import processing_samples as samples
import pytest
from fake_store import FakeProcessingStore
from image_settings import PROCESSING_SETTINGS
from imgplat_common.keys import new_image_id, original_key
from imgplat_common.models import ImageRecord, utc_now_iso
from imgplat_common.original_tags import CLAIMED_ORIGINAL_TAGS, UNCLAIMED_ORIGINAL_TAGS
from imgplat_common.status import ImageStatus
from imgplat_processing.bookkeeping_steps import claim
from imgplat_processing.image_steps import validate
from imgplat_processing.rejections import ImageRejected
from imgplat_processing.workflow_state import Claimed, ProcessingRequest, StaleEvent, WorkflowState

OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
SETTINGS = PROCESSING_SETTINGS


def _uploaded(
    store: FakeProcessingStore, body: bytes, declared_type: str, declared_size: int | None, *, recorded: bool = True
) -> WorkflowState:
    """An original as S3 stores it (tagged unclaimed, as upload signs it) and, if `recorded`, its PENDING record."""
    image_id = new_image_id()
    record = ImageRecord.pending(OWNER, image_id, declared_type, utc_now_iso(), declared_size=declared_size)
    if recorded:
        store.records[(OWNER, image_id)] = record.to_item()
    stored = store.put(SETTINGS.originals_bucket, record.original_key, body)
    stored.tags = dict(UNCLAIMED_ORIGINAL_TAGS)
    request = ProcessingRequest.for_object(
        SETTINGS.originals_bucket, record.original_key, size=len(body), version_id=stored.version_id, etag=stored.etag
    )
    return WorkflowState.model_validate(request.model_dump())


def _claimed(store: FakeProcessingStore, state: WorkflowState) -> WorkflowState:
    return state.model_copy(update={"claim": claim(state, SETTINGS, store)})


def _rejection(store: FakeProcessingStore, state: WorkflowState) -> tuple[str, str]:
    """The (code, reason) Validate reports, as MarkRejected will read it."""
    with pytest.raises(ImageRejected) as rejected:
        validate(state, SETTINGS, store)
    detail = json.loads(str(rejected.value))
    return detail["code"], detail["reason"]


def _original(store: FakeProcessingStore, state: WorkflowState):
    return store.objects.get((SETTINGS.originals_bucket, original_key(state.owner, state.image_id)))


def test_claim_passes_on_what_the_client_declared_and_tags_the_original_claimed():
    store = FakeProcessingStore()
    photo = samples.jpeg_with_exif_orientation()
    state = _uploaded(store, photo, "image/jpeg", len(photo))

    claimed = claim(state, SETTINGS, store)

    assert (claimed.declared_content_type, claimed.declared_size) == ("image/jpeg", len(photo))
    assert _original(store, state).tags == CLAIMED_ORIGINAL_TAGS


def test_an_original_that_matches_its_declaration_is_validated():
    store = FakeProcessingStore()
    photo = samples.png_with_alpha()
    state = _claimed(store, _uploaded(store, photo, "image/png", len(photo)))

    assert validate(state, SETTINGS, store).format == "PNG"


def test_a_jpeg_declared_as_png_is_rejected_with_a_readable_reason():
    # Given an upload started for a PNG whose bytes are a JPEG (the right size: only the type lies)
    store = FakeProcessingStore()
    photo = samples.jpeg_with_exif_orientation()
    state = _claimed(store, _uploaded(store, photo, "image/png", len(photo)))

    # When Validate reads it, then it is refused, saying what the file is and what was declared
    assert _rejection(store, state) == (
        "type_mismatch",
        "The file is in JPEG format, but the upload was started for image/png.",
    )


def test_an_original_of_another_size_than_declared_is_rejected_before_it_is_read():
    store = FakeProcessingStore()
    photo = samples.jpeg_with_exif_orientation()
    state = _claimed(store, _uploaded(store, photo, "image/jpeg", 1000))

    assert _rejection(store, state) == (
        "size_mismatch",
        f"The file is {len(photo)} bytes, but the upload was started for 1000 bytes.",
    )


def test_without_a_declared_size_any_size_within_the_limit_is_accepted():
    store = FakeProcessingStore()
    photo = samples.jpeg_with_exif_orientation()
    state = _claimed(store, _uploaded(store, photo, "image/jpeg", None))

    assert validate(state, SETTINGS, store).bytes == len(photo)


@pytest.mark.parametrize("declared", ["image/heic", "image/heif"])
def test_either_heif_name_fits_a_heic_photo(declared: str):
    store = FakeProcessingStore()
    photo = samples.heic_photo((64, 48))
    state = _claimed(store, _uploaded(store, photo, declared, len(photo)))

    assert validate(state, SETTINGS, store).format == "HEIF"


def test_an_avif_declared_as_heic_is_rejected():
    store = FakeProcessingStore()
    photo = samples.avif_with_alpha((64, 48))
    state = _claimed(store, _uploaded(store, photo, "image/heic", len(photo)))

    assert _rejection(store, state)[0] == "type_mismatch"


def test_an_original_without_a_record_is_removed_and_the_run_ends_as_stale():
    # Given an upload to the still-valid URL of an image whose owner deleted it while it was PENDING
    store = FakeProcessingStore()
    state = _uploaded(store, b"any bytes", "image/jpeg", 9, recorded=False)

    # When its run claims it
    with pytest.raises(StaleEvent):
        claim(state, SETTINGS, store)

    # Then the original is gone and no record was made
    assert _original(store, state) is None
    assert store.records == {}


def test_a_late_event_for_a_ready_image_keeps_its_original_and_its_tags():
    # Given an image its first run made READY
    store = FakeProcessingStore()
    photo = samples.jpeg_with_exif_orientation()
    state = _uploaded(store, photo, "image/jpeg", len(photo))
    claim(state, SETTINGS, store)
    store.records[(OWNER, state.image_id)]["status"] = ImageStatus.READY.value

    # When a late event starts another run for it
    late = state.model_copy(update={"run_id": f"{state.image_id}-fedcba9876543210"})
    with pytest.raises(StaleEvent):
        claim(late, SETTINGS, store)

    # Then the original stays, as the first run left it
    assert _original(store, state).body == photo
    assert _original(store, state).tags == CLAIMED_ORIGINAL_TAGS


def test_a_rejected_images_original_keeps_its_rejected_tag_when_a_late_event_arrives():
    store = FakeProcessingStore()
    state = _uploaded(store, b"not an image", "image/jpeg", 12)
    claim(state, SETTINGS, store)
    store.records[(OWNER, state.image_id)]["status"] = ImageStatus.REJECTED.value
    _original(store, state).tags = {"status": "rejected"}

    with pytest.raises(StaleEvent):
        claim(state.model_copy(update={"run_id": f"{state.image_id}-fedcba9876543210"}), SETTINGS, store)

    assert _original(store, state).tags == {"status": "rejected"}


def test_a_claim_without_declared_values_checks_neither():
    # Runs claimed before Claim passed the declaration on carry none: they are validated as before
    store = FakeProcessingStore()
    photo = samples.jpeg_with_exif_orientation()
    state = _uploaded(store, photo, "image/png", 5).model_copy(update={"claim": Claimed(claimed_at_ms=0)})

    assert validate(state, SETTINGS, store).format == "JPEG"
