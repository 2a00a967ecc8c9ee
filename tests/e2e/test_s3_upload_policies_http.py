"""The local platform's S3 refuses forged and out-of-policy uploads as S3 does, over real HTTP.

Each attempt starts from a real ticket (POST /upload) or from a URL/form signed here with the local credentials, is
altered as an attacker would alter it, and must be refused with S3's own error code and leave nothing stored (or, for
another user's key, that user's original unchanged). The platform's own PUT and POST still upload to READY.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from PIL import Image

from local.launcher import RunningPlatform
from tests.local_platform.s3_signing import s3_signer, signing_at

from .test_local_platform_http import bearer, sign_in, wait_for_terminal_status

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024
# The form fields the signer itself adds (botocore): the rest are the upload service's own.
SIGNING_FIELDS = {"key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"}
SSE_HEADER = "x-amz-server-side-encryption"
SSE_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 60)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


PHOTO = small_jpeg()


@pytest.fixture(scope="module")
def alice(local_platform: RunningPlatform) -> str:
    return sign_in(local_platform, "s3-front-alice@example.com")


@pytest.fixture(scope="module")
def bob(local_platform: RunningPlatform) -> str:
    return sign_in(local_platform, "s3-front-bob@example.com")


def new_ticket(platform: RunningPlatform, token: str, size: int = len(PHOTO)) -> dict[str, Any]:
    answer = requests.post(
        f"{platform.api_url}/upload",
        json={"filename": "photo.jpg", "content_type": "image/jpeg", "size": size},
        headers=bearer(token),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def bucket_and_key(ticket: dict[str, Any]) -> tuple[str, str]:
    bucket, _, key = urlsplit(ticket["put"]["url"]).path.lstrip("/").partition("/")
    return bucket, key


def stored_original(platform: RunningPlatform, ticket: dict[str, Any]) -> bytes | None:
    bucket, key = bucket_and_key(ticket)
    try:
        return bytes(s3_signer(platform.aws_url).get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchKey"
        return None


def s3_error_code(answer: requests.Response, status: int) -> str:
    """The code of S3's XML error document, after checking the status S3 answers it with."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/xml"
    found = re.search(r"<Error><Code>(\w+)</Code><Message>(.*?)</Message><RequestId>", answer.text)
    assert found, answer.text
    return found.group(1)


def signed_put_url(platform: RunningPlatform, ticket: dict[str, Any], access_key: str = "local", **kwargs: Any) -> str:
    """A PUT URL for the ticket's key signed here, as the upload service signs it."""
    bucket, key = bucket_and_key(ticket)
    params = {
        "Bucket": bucket,
        "Key": key,
        "ContentType": "image/jpeg",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": ticket["put"]["headers"][SSE_KEY_HEADER],
    }
    return str(s3_signer(platform.aws_url, access_key).generate_presigned_url("put_object", Params=params, **kwargs))


def refused_put(ticket: dict[str, Any], url: str | None = None, **header_changes: str | None) -> requests.Response:
    headers = {**ticket["put"]["headers"], **header_changes}
    sent = {name: value for name, value in headers.items() if value is not None}
    return requests.put(url or ticket["put"]["url"], data=PHOTO, headers=sent, timeout=30)


def post_upload(ticket: dict[str, Any], fields: dict[str, str], body: bytes = PHOTO) -> requests.Response:
    form = ticket["upload"]
    return requests.post(form["url"], data=fields, files={"file": ("photo.jpg", body)}, timeout=120)


# --- PUT ------------------------------------------------------------------------------------------------------------


def test_a_zeroed_signature_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    url = re.sub(r"X-Amz-Signature=\w+", "X-Amz-Signature=" + "0" * 64, ticket["put"]["url"])
    assert s3_error_code(refused_put(ticket, url), 403) == "SignatureDoesNotMatch"
    assert stored_original(local_platform, ticket) is None


def test_a_url_dated_2020_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    with signing_at(datetime(2020, 6, 1, tzinfo=UTC)):
        url = signed_put_url(local_platform, ticket)
    assert s3_error_code(refused_put(ticket, url), 403) == "AccessDenied"
    assert stored_original(local_platform, ticket) is None


def test_a_put_after_the_url_expired_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    with signing_at(datetime.now(UTC) - timedelta(seconds=90)):
        url = signed_put_url(local_platform, ticket, ExpiresIn=60)
    answer = refused_put(ticket, url)
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert "Request has expired" in answer.text
    assert stored_original(local_platform, ticket) is None


def test_a_put_with_another_content_type_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    assert s3_error_code(refused_put(ticket, **{"Content-Type": "image/png"}), 403) == "SignatureDoesNotMatch"
    assert stored_original(local_platform, ticket) is None


def test_a_put_without_the_encryption_headers_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    answer = refused_put(ticket, **{SSE_HEADER: None, SSE_KEY_HEADER: None})
    assert s3_error_code(answer, 403) == "SignatureDoesNotMatch"
    assert stored_original(local_platform, ticket) is None


def test_a_put_that_adds_an_unsigned_public_read_acl_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    answer = refused_put(ticket, **{"x-amz-acl": "public-read"})
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert stored_original(local_platform, ticket) is None


def test_a_url_whose_path_names_another_users_key_leaves_that_image_unchanged(local_platform, alice, bob):
    bobs = new_ticket(local_platform, bob)
    assert requests.put(bobs["put"]["url"], data=PHOTO, headers=bobs["put"]["headers"], timeout=30).status_code == 200
    alices = new_ticket(local_platform, alice)
    _, alices_key = bucket_and_key(alices)
    _, bobs_key = bucket_and_key(bobs)
    forged = alices["put"]["url"].replace(alices_key, bobs_key)
    answer = requests.put(forged, data=b"not bob's photo", headers=alices["put"]["headers"], timeout=30)
    assert s3_error_code(answer, 403) == "SignatureDoesNotMatch"
    assert stored_original(local_platform, bobs) == PHOTO
    assert wait_for_terminal_status(local_platform, bobs["image_id"], bob)["status"] == "READY"


def test_an_anonymous_put_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    bare_url = ticket["put"]["url"].partition("?")[0]
    assert s3_error_code(refused_put(ticket, bare_url), 403) == "AccessDenied"
    assert stored_original(local_platform, ticket) is None


def test_an_anonymous_read_of_an_original_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    assert requests.put(ticket["put"]["url"], data=PHOTO, headers=ticket["put"]["headers"], timeout=30).ok
    answer = requests.get(ticket["put"]["url"].partition("?")[0], timeout=30)
    assert s3_error_code(answer, 403) == "AccessDenied"


def test_a_url_signed_with_an_unknown_access_key_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    url = signed_put_url(local_platform, ticket, access_key="AKIAFORGEDKEY0000000")
    assert s3_error_code(refused_put(ticket, url), 403) == "InvalidAccessKeyId"
    assert stored_original(local_platform, ticket) is None


def test_the_platforms_own_put_url_uploads_to_ready(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    answer = requests.put(ticket["put"]["url"], data=PHOTO, headers=ticket["put"]["headers"], timeout=30)
    assert answer.status_code == 200, answer.text
    assert wait_for_terminal_status(local_platform, ticket["image_id"], alice)["status"] == "READY"


# --- browser POST ---------------------------------------------------------------------------------------------------


def test_a_post_without_a_policy_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    unsigned = {"key": ticket["upload"]["fields"]["key"], "Content-Type": "image/jpeg"}
    assert s3_error_code(post_upload(ticket, unsigned), 403) == "AccessDenied"
    assert stored_original(local_platform, ticket) is None


def test_a_27_mib_post_over_the_policys_range_is_too_large(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    answer = post_upload(ticket, ticket["upload"]["fields"], body=PHOTO + bytes(27 * MIB))
    assert s3_error_code(answer, 400) == "EntityTooLarge"
    assert stored_original(local_platform, ticket) is None


def test_a_post_with_a_changed_key_is_refused(local_platform, alice, bob):
    ticket = new_ticket(local_platform, alice)
    bobs_key = new_ticket(local_platform, bob)["upload"]["fields"]["key"]
    answer = post_upload(ticket, {**ticket["upload"]["fields"], "key": bobs_key})
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert "Policy Condition failed" in answer.text
    assert stored_original(local_platform, ticket) is None


def test_a_post_that_names_the_key_twice_is_refused(local_platform, alice, bob):
    # Given Bob's stored original, and Alice's valid form with Bob's key sent first and her own as `KEY`
    bobs_ticket = new_ticket(local_platform, bob)
    assert post_upload(bobs_ticket, bobs_ticket["upload"]["fields"]).status_code == 204
    ticket = new_ticket(local_platform, alice)
    own = [("KEY" if name == "key" else name, value) for name, value in ticket["upload"]["fields"].items()]
    bobs_key = bobs_ticket["upload"]["fields"]["key"]
    form = ticket["upload"]
    answer = requests.post(
        form["url"], data=[("key", bobs_key), *own], files={"file": ("photo.jpg", b"other bytes")}, timeout=120
    )
    # Then nothing is stored under either key
    assert s3_error_code(answer, 400) == "InvalidArgument"
    assert stored_original(local_platform, bobs_ticket) == PHOTO
    assert stored_original(local_platform, ticket) is None


def test_a_valid_post_form_sent_to_another_operation_is_refused(local_platform, alice, bob):
    # Given Bob's stored original, and Alice's valid form posted to ?delete with a file that names Bob's key
    bobs_ticket = new_ticket(local_platform, bob)
    assert post_upload(bobs_ticket, bobs_ticket["upload"]["fields"]).status_code == 204
    _, bobs_key = bucket_and_key(bobs_ticket)
    ticket = new_ticket(local_platform, alice)
    delete = f"<Delete><Object><Key>{bobs_key}</Key></Object></Delete>".encode()
    form = ticket["upload"]
    answer = requests.post(
        f"{form['url']}?delete", data=form["fields"], files={"file": ("delete.xml", delete)}, timeout=120
    )
    # Then S3 refuses it and Bob's original is still there
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert stored_original(local_platform, bobs_ticket) == PHOTO


def test_a_post_with_another_content_type_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    answer = post_upload(ticket, {**ticket["upload"]["fields"], "Content-Type": "text/html"})
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert "Policy Condition failed" in answer.text
    assert stored_original(local_platform, ticket) is None


def test_a_post_without_the_encryption_field_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    fields = {name: value for name, value in ticket["upload"]["fields"].items() if name != SSE_HEADER}
    answer = post_upload(ticket, fields)
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert f'"${SSE_HEADER}"' in answer.text
    assert stored_original(local_platform, ticket) is None


def test_a_post_whose_policy_expired_is_refused(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    bucket, key = bucket_and_key(ticket)
    fields = {name: value for name, value in ticket["upload"]["fields"].items() if name not in SIGNING_FIELDS}
    conditions = [{name: value} for name, value in fields.items()] + [["content-length-range", 1, 10 * MIB]]
    with signing_at(datetime.now(UTC) - timedelta(hours=2)):
        expired = s3_signer(local_platform.aws_url).generate_presigned_post(
            bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=3600
        )
    answer = post_upload(ticket, expired["fields"])
    assert s3_error_code(answer, 403) == "AccessDenied"
    assert "Policy expired." in answer.text
    assert stored_original(local_platform, ticket) is None


def test_the_platforms_own_post_form_uploads_to_ready(local_platform, alice):
    ticket = new_ticket(local_platform, alice)
    answer = post_upload(ticket, ticket["upload"]["fields"])
    assert answer.status_code in {200, 204}, answer.text
    assert wait_for_terminal_status(local_platform, ticket["image_id"], alice)["status"] == "READY"
