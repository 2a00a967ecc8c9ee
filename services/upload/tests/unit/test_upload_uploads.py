"""Starting an upload, with a fake record store and a fake signer: what is checked, recorded and signed."""

from __future__ import annotations

from typing import Any

import pytest
from imgplat_common.errors import Conflict, PayloadTooLarge, UnsupportedMediaType
from imgplat_common.models import ImageRecord
from imgplat_common.status import ImageStatus
from imgplat_upload.settings import UploadSettings
from imgplat_upload.uploads import (
    ImageAlreadyExists,
    PresignedPost,
    PutHeaders,
    UploadRequest,
    canonical_content_type,
    post_policy,
    start_upload,
)
from pydantic import ValidationError

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
IMAGE_ID = "0190a1b2c3d4" + "ab" * 10
NOW = "2026-11-20T10:00:00.000Z"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


class FakeRecords:
    def __init__(self, taken: bool = False) -> None:
        self.created: list[ImageRecord] = []
        self.taken = taken

    def create(self, record: ImageRecord) -> None:
        if self.taken:
            raise ImageAlreadyExists(record.image_id)
        self.created.append(record)


class FakeSigner:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.puts: list[dict[str, Any]] = []

    def presign_post(self, key: str, fields: dict[str, str], conditions: list[Any], expires_in: int) -> PresignedPost:
        self.posts.append({"key": key, "fields": fields, "conditions": conditions, "expires_in": expires_in})
        return PresignedPost(url="https://bucket.example/", fields={**fields, "key": key})

    def presign_put(self, key: str, headers: PutHeaders, expires_in: int) -> str:
        self.puts.append({"key": key, "headers": headers, "expires_in": expires_in})
        return f"https://bucket.example/{key}?signed"


@pytest.fixture
def settings(max_upload_bytes: int) -> UploadSettings:
    return UploadSettings(
        images_table="images", originals_bucket="originals", kms_key_arn=KEY_ARN, max_upload_bytes=max_upload_bytes
    )


def _start(request: UploadRequest, settings: UploadSettings, records: Any = None, signer: Any = None) -> Any:
    return start_upload(
        request,
        OWNER,
        settings,
        records=records or FakeRecords(),
        signer=signer or FakeSigner(),
        issue_image_id=lambda: IMAGE_ID,
        now=lambda: NOW,
    )


def test_a_pending_record_is_created_before_anything_is_signed(settings):
    records = FakeRecords()

    ticket = _start(UploadRequest(content_type="image/png", filename="a.png", size=10), settings, records)

    assert records.created == [
        ImageRecord(
            owner=OWNER,
            image_id=IMAGE_ID,
            status=ImageStatus.PENDING,
            created_at=NOW,
            updated_at=NOW,
            original_key=f"originals/{OWNER}/{IMAGE_ID}",
            content_type="image/png",
            filename="a.png",
            declared_size=10,
        )
    ]
    assert ticket.image_id == IMAGE_ID
    assert ticket.status_url == f"/image/{IMAGE_ID}"


def test_both_upload_ways_are_signed_for_the_issued_key_only(settings):
    signer = FakeSigner()

    _start(UploadRequest(content_type="image/jpeg", filename="../../etc/passwd", size=10), settings, signer=signer)

    assert [post["key"] for post in signer.posts] == [f"originals/{OWNER}/{IMAGE_ID}"]
    assert [put["key"] for put in signer.puts] == [f"originals/{OWNER}/{IMAGE_ID}"]
    assert signer.puts[0]["headers"].kms_key_arn == KEY_ARN
    assert signer.posts[0]["expires_in"] == 300


def test_policy_pins_a_declared_size_exactly(settings):
    fields, conditions = post_policy("image/png", 1234, settings)

    assert ["content-length-range", 1234, 1234] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert fields == {
        "Content-Type": "image/png",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN,
        "tagging": "<Tagging><TagSet><Tag><Key>status</Key><Value>unclaimed</Value></Tag></TagSet></Tagging>",
    }
    # every field sent with the form is pinned by an exact-match condition
    assert all({name: value} in conditions for name, value in fields.items())


def test_policy_without_a_size_allows_one_byte_up_to_the_limit():
    small = UploadSettings(images_table="t", originals_bucket="b", kms_key_arn=KEY_ARN, max_upload_bytes=1000)

    _, conditions = post_policy("image/gif", None, small)

    assert ["content-length-range", 1, 1000] in conditions


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [
        ("image/jpeg", "image/jpeg"),
        ("image/jpg", "image/jpeg"),
        (" IMAGE/PNG ", "image/png"),
        ("image/tiff", "image/tiff"),
        ("image/heic", "image/heic"),
        ("Image/HEIF", "image/heif"),
        ("image/avif", "image/avif"),
        ("image/heic-sequence", "image/heic"),
        ("image/heif-sequence", "image/heif"),
    ],
)
def test_allowed_types_are_accepted_in_their_canonical_spelling(settings, declared, canonical):
    assert canonical_content_type(declared, settings) == canonical


@pytest.mark.parametrize("declared", ["image/svg+xml", "text/html", "application/octet-stream", "image/jpeg; x=1"])
def test_other_types_are_refused_with_the_allowed_list(settings, declared):
    with pytest.raises(UnsupportedMediaType) as refused:
        canonical_content_type(declared, settings)

    assert refused.value.details["allowed"] == list(settings.allowed_content_types)


def test_declared_size_over_the_limit_is_refused_and_nothing_recorded(settings):
    records, signer = FakeRecords(), FakeSigner()

    with pytest.raises(PayloadTooLarge) as refused:
        _start(UploadRequest(content_type="image/png", size=settings.max_upload_bytes + 1), settings, records, signer)

    assert refused.value.code == "too_large"
    assert records.created == [] and signer.posts == [] and signer.puts == []


def test_declared_size_at_the_limit_is_accepted(settings):
    ticket = _start(UploadRequest(content_type="image/png", size=settings.max_upload_bytes), settings)

    assert ticket.max_bytes == settings.max_upload_bytes


def test_a_taken_image_id_is_a_conflict_not_an_overwrite(settings):
    with pytest.raises(Conflict):
        _start(UploadRequest(content_type="image/png"), settings, FakeRecords(taken=True))


@pytest.mark.parametrize(
    "body",
    [{}, {"content_type": ""}, {"content_type": "image/png", "size": 0}, {"content_type": "image/png", "size": "5"}],
)
def test_request_shape_is_validated(body):
    with pytest.raises(ValidationError):
        UploadRequest.model_validate(body)


def test_response_body_has_the_documented_shape(settings):
    body = _start(UploadRequest(content_type="image/webp", size=10), settings).model_dump(mode="json")

    assert set(body) == {"image_id", "status", "expires_in", "max_bytes", "upload", "put", "status_url"}
    assert body["upload"]["method"] == "POST" and body["put"]["method"] == "PUT"
    assert body["put"]["headers"]["Content-Type"] == "image/webp"
    assert body["status"] == "PENDING" and body["status_url"] == f"/image/{IMAGE_ID}"


def test_the_put_binds_the_declared_size_type_encryption_and_the_unclaimed_tag(settings):
    # Given a client declaring a 1234-byte PNG
    signer = FakeSigner()

    # When the upload starts
    ticket = _start(UploadRequest(content_type="image/png", size=1234), settings, signer=signer)

    # Then the PUT is signed for exactly those headers, and the client is told to send each of them
    assert signer.puts[0]["headers"] == PutHeaders(
        content_type="image/png", content_length=1234, kms_key_arn=KEY_ARN, tagging="status=unclaimed"
    )
    assert ticket.put is not None
    assert ticket.put.headers == {
        "Content-Length": "1234",
        "Content-Type": "image/png",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN,
        "x-amz-tagging": "status=unclaimed",
    }


def test_without_a_declared_size_there_is_no_put_only_the_post_form(settings):
    signer = FakeSigner()

    ticket = _start(UploadRequest(content_type="image/png"), settings, signer=signer)

    assert ticket.put is None and signer.puts == []
    assert ticket.model_dump(mode="json")["put"] is None  # the key stays in the answer, as the schema says
    assert ["content-length-range", 1, settings.max_upload_bytes] in signer.posts[0]["conditions"]


def test_the_post_form_tags_the_original_unclaimed_and_its_policy_requires_it(settings):
    fields, conditions = post_policy("image/png", 1234, settings)

    tagging = "<Tagging><TagSet><Tag><Key>status</Key><Value>unclaimed</Value></Tag></TagSet></Tagging>"
    assert fields["tagging"] == tagging
    assert {"tagging": tagging} in conditions
