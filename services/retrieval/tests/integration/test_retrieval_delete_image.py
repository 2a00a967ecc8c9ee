"""DELETE /image/{id}: the original, every rendition and the record go; nothing else is touched."""

from __future__ import annotations

import pytest
from imgplat_common.keys import new_image_id, rendition_key, rendition_prefix
from imgplat_common.status import ImageStatus
from imgplat_retrieval.handlers import delete_image

from .conftest import ORIGINALS_BUCKET, RENDITIONS_BUCKET

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
OTHER_OWNER = "9b2d7e10-2222-4d4d-8e8e-abcdefabcdef"
RESOURCE = "/image/{id}"
NOT_FOUND_BODY = {"error": {"code": "not_found", "message": "No such image."}}

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def delete(call_api, image_id: str, sub: str | None = OWNER):
    return call_api(delete_image, "DELETE", RESOURCE, path_parameters={"id": image_id}, sub=sub)


def test_delete_removes_original_every_rendition_and_the_record(platform, call_api, make_record):
    # Given two READY images of the caller, one with renditions of an older content hash left behind too
    doomed = platform.save(make_record(OWNER))
    kept = platform.save(make_record(OWNER))
    stale = rendition_key(OWNER, doomed.image_id, "cd" * 32, "medium", "jpeg")
    platform.s3.put_object(Bucket=RENDITIONS_BUCKET, Key=stale, Body=b"old")
    renditions_before = platform.keys(RENDITIONS_BUCKET)

    # When the caller deletes one
    response = delete(call_api, doomed.image_id)

    # Then it answers 204 with no body, and the original, all its renditions and the record are gone
    assert response.status == 204
    assert response.body == ""
    assert doomed.original_key not in platform.keys(ORIGINALS_BUCKET)
    assert not {k for k in platform.keys(RENDITIONS_BUCKET) if k.startswith(rendition_prefix(OWNER, doomed.image_id))}
    assert not platform.record_exists(OWNER, doomed.image_id)
    # And the other image keeps everything
    assert kept.original_key in platform.keys(ORIGINALS_BUCKET)
    kept_renditions = {k for k in renditions_before if k.startswith(rendition_prefix(OWNER, kept.image_id))}
    # JPEG and WebP of four renditions, AVIF of two (the default avifRenditions)
    assert len(kept_renditions) == 10 and kept_renditions <= platform.keys(RENDITIONS_BUCKET)
    assert platform.record_exists(OWNER, kept.image_id)


def test_delete_pages_through_more_than_a_thousand_renditions(platform, call_api, make_record):
    record = platform.save(make_record(OWNER, ImageStatus.FAILED))
    prefix = rendition_prefix(OWNER, record.image_id)
    for index in range(1005):
        platform.s3.put_object(Bucket=RENDITIONS_BUCKET, Key=f"{prefix}{index:016x}/thumb.jpg", Body=b"x")

    assert delete(call_api, record.image_id).status == 204

    assert not {k for k in platform.keys(RENDITIONS_BUCKET) if k.startswith(prefix)}


def test_deleting_a_pending_image_without_objects_works(platform, call_api, make_record):
    record = platform.save(make_record(OWNER, ImageStatus.PENDING), with_objects=False)

    assert delete(call_api, record.image_id).status == 204
    assert not platform.record_exists(OWNER, record.image_id)


def test_deleting_twice_is_404(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    first, second = delete(call_api, record.image_id), delete(call_api, record.image_id)

    assert first.status == 204
    assert second.status == 404 and second.json() == NOT_FOUND_BODY


def test_other_users_image_is_404_and_nothing_changes(platform, call_api, make_record):
    # Given another user's image
    theirs = platform.save(make_record(OTHER_OWNER))
    originals, renditions = platform.keys(ORIGINALS_BUCKET), platform.keys(RENDITIONS_BUCKET)

    # When the caller tries to delete it, or an id nobody has, or something that is not an id
    answers = [delete(call_api, theirs.image_id), delete(call_api, new_image_id()), delete(call_api, "x")]

    # Then each answer is the same 404 and every object and the record are still there
    assert all(a.status == 404 and a.json() == NOT_FOUND_BODY for a in answers)
    assert platform.keys(ORIGINALS_BUCKET) == originals
    assert platform.keys(RENDITIONS_BUCKET) == renditions
    assert platform.record_exists(OTHER_OWNER, theirs.image_id)


def test_request_without_claims_is_401_and_nothing_changes(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    assert delete(call_api, record.image_id, sub=None).status == 401
    assert platform.record_exists(OWNER, record.image_id)
