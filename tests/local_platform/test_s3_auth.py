"""The local S3's checks refuse what S3 refuses: URLs, headers and POST forms signed by botocore, then altered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.emulator import KNOWN_KEYS, REGION
from local.s3_auth import (
    S3Error,
    S3Request,
    check_policy_conditions,
    verify_header_signed,
    verify_post_form,
    verify_presigned,
)
from local.s3_front import query_pairs
from tests.local_platform.s3_signing import s3_signer, signing_at

ENDPOINT = "http://127.0.0.1:4566"
HOST = "127.0.0.1:4566"
BUCKET = "originals-bucket"
KEY = "originals/user-a/image-1"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/local"
PUT_HEADERS = {
    "content-type": "image/png",
    "x-amz-server-side-encryption": "aws:kms",
    "x-amz-server-side-encryption-aws-kms-key-id": KMS_KEY,
}


def presigned_put_url(key: str = KEY, access_key: str = "local", expires_in: int = 600) -> str:
    with signing_at(NOW):
        return str(
            s3_signer(ENDPOINT, access_key).generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": BUCKET,
                    "Key": key,
                    "ContentType": "image/png",
                    "ServerSideEncryption": "aws:kms",
                    "SSEKMSKeyId": KMS_KEY,
                },
                ExpiresIn=expires_in,
            )
        )


def arriving(url: str, headers: dict[str, str], method: str = "PUT", body: bytes = b"png") -> S3Request:
    parts = urlsplit(url)
    return S3Request(method, parts.path, query_pairs(parts.query), {"host": HOST, **headers}, body)


def refusal(check, *args, **kwargs) -> S3Error:
    with pytest.raises(S3Error) as refused:
        check(*args, **kwargs)
    return refused.value


def verify_url(request: S3Request, now: datetime = NOW) -> None:
    verify_presigned(request, KNOWN_KEYS, REGION, now)


# --- pre-signed URLs ------------------------------------------------------------------------------------------------


def test_a_presigned_put_sent_as_signed_passes():
    verify_url(arriving(presigned_put_url(), PUT_HEADERS))


def test_a_presigned_url_is_valid_until_its_expiry_and_refused_after():
    url = presigned_put_url(expires_in=60)
    verify_url(arriving(url, PUT_HEADERS), now=NOW + timedelta(seconds=60))
    error = refusal(verify_url, arriving(url, PUT_HEADERS), now=NOW + timedelta(seconds=61))
    assert (error.code, error.message, error.status) == ("AccessDenied", "Request has expired", 403)


def test_a_url_dated_in_the_future_is_not_valid_yet():
    error = refusal(verify_url, arriving(presigned_put_url(), PUT_HEADERS), now=NOW - timedelta(hours=1))
    assert (error.code, error.message) == ("AccessDenied", "Request is not valid yet")


@pytest.mark.parametrize(
    "changed",
    [
        {"content-type": "image/jpeg"},
        {"x-amz-server-side-encryption": "AES256"},
        {"x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:123456789012:key/other"},
    ],
)
def test_a_signed_header_sent_with_another_value_does_not_match(changed):
    error = refusal(verify_url, arriving(presigned_put_url(), {**PUT_HEADERS, **changed}))
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_a_signed_header_left_out_does_not_match():
    error = refusal(verify_url, arriving(presigned_put_url(), {"content-type": "image/png"}))
    assert error.code == "SignatureDoesNotMatch"


def test_a_url_whose_path_names_another_key_does_not_match():
    url = presigned_put_url().replace("/user-a/", "/user-b/")
    assert refusal(verify_url, arriving(url, PUT_HEADERS)).code == "SignatureDoesNotMatch"


def test_a_zeroed_signature_does_not_match():
    url = presigned_put_url()
    signature = dict(query_pairs(urlsplit(url).query))["X-Amz-Signature"]
    assert refusal(verify_url, arriving(url.replace(signature, "0" * 64), PUT_HEADERS)).code == "SignatureDoesNotMatch"


def test_whatever_the_url_signs_is_bound_content_length_and_tagging_too():
    with signing_at(NOW):
        url = s3_signer(ENDPOINT).generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": KEY, "ContentLength": 3, "Tagging": "image=1"}
        )
    signed = {"content-length": "3", "x-amz-tagging": "image=1"}
    verify_url(arriving(url, signed))
    for changed in ({"content-length": "64000000"}, {"x-amz-tagging": "image=2"}):
        assert refusal(verify_url, arriving(url, {**signed, **changed})).code == "SignatureDoesNotMatch"


def test_an_unsigned_amz_header_is_refused():
    error = refusal(verify_url, arriving(presigned_put_url(), {**PUT_HEADERS, "x-amz-tagging": "owner=b"}))
    assert (error.code, error.message) == (
        "AccessDenied",
        "There were headers present in the request which were not signed",
    )


def test_an_unknown_access_key_is_refused():
    error = refusal(verify_url, arriving(presigned_put_url(access_key="AKIAFORGED"), PUT_HEADERS))
    assert (error.code, error.status) == ("InvalidAccessKeyId", 403)


def test_a_url_for_another_region_is_refused():
    url = presigned_put_url().replace("%2Fus-east-1%2F", "%2Feu-west-1%2F")
    error = refusal(verify_url, arriving(url, PUT_HEADERS))
    assert (error.code, error.status) == ("AuthorizationQueryParametersError", 400)


def test_an_expiry_beyond_a_week_is_refused():
    url = presigned_put_url().replace("X-Amz-Expires=600", "X-Amz-Expires=604801")
    assert refusal(verify_url, arriving(url, PUT_HEADERS)).code == "AuthorizationQueryParametersError"


# --- Authorization header (SDK requests) ----------------------------------------------------------------------------


def sdk_request(body: bytes = b"png", moment: datetime = NOW) -> S3Request:
    request = AWSRequest(method="PUT", url=f"{ENDPOINT}/{BUCKET}/{KEY}?tagging", data=body, headers=PUT_HEADERS)
    with signing_at(moment):
        S3SigV4Auth(Credentials("local", "local"), "s3", REGION).add_auth(request)
    return arriving(request.url, {name.lower(): value for name, value in request.headers.items()}, body=body)


def verify_sdk(request: S3Request, now: datetime = NOW) -> None:
    verify_header_signed(request, KNOWN_KEYS, REGION, now)


def test_an_sdk_request_sent_as_signed_passes():
    verify_sdk(sdk_request())


def test_an_sdk_request_whose_body_was_replaced_is_refused():
    replaced = replace(sdk_request(b"png"), body=b"a larger jpeg")
    assert refusal(verify_sdk, replaced).code == "XAmzContentSHA256Mismatch"


def test_an_sdk_request_with_a_changed_signed_header_does_not_match():
    original = sdk_request()
    changed = replace(original, headers={**original.headers, "content-type": "image/gif"})
    assert refusal(verify_sdk, changed).code == "SignatureDoesNotMatch"


def test_an_sdk_request_from_a_skewed_clock_is_refused():
    assert refusal(verify_sdk, sdk_request(), now=NOW + timedelta(minutes=16)).code == "RequestTimeTooSkewed"


def test_a_sigv2_authorization_header_is_not_supported():
    original = sdk_request()
    sigv2 = replace(original, headers={**original.headers, "authorization": "AWS local:c2lnbmF0dXJl"})
    error = refusal(verify_sdk, sigv2)
    assert (error.code, error.status) == ("InvalidRequest", 400)


# --- POST policies --------------------------------------------------------------------------------------------------


def post_form(conditions: list, fields: dict[str, str] | None = None, expires_in: int = 600) -> dict[str, str]:
    with signing_at(NOW):
        form = s3_signer(ENDPOINT).generate_presigned_post(
            BUCKET, KEY, Fields=fields or {}, Conditions=conditions, ExpiresIn=expires_in
        )
    return {name.lower(): value for name, value in form["fields"].items()}


PNG_POLICY = [{"Content-Type": "image/png"}, ["content-length-range", 1, 1000]]


def verify_form(fields: dict[str, str], file_size: int = 500, now: datetime = NOW) -> None:
    verify_post_form(BUCKET, fields, file_size=file_size, credentials=KNOWN_KEYS, region=REGION, now=now)


def test_a_post_form_as_signed_passes():
    verify_form(post_form(PNG_POLICY, {"Content-Type": "image/png"}))


def test_a_post_after_the_policy_expired_is_refused():
    form = post_form(PNG_POLICY, {"Content-Type": "image/png"}, expires_in=60)
    error = refusal(verify_form, form, now=NOW + timedelta(seconds=61))
    assert (error.code, error.message) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_a_post_with_an_edited_policy_does_not_match():
    form = post_form(PNG_POLICY, {"Content-Type": "image/png"})
    other = post_form([{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 10**9]])
    assert refusal(verify_form, {**form, "policy": other["policy"]}).code == "SignatureDoesNotMatch"


def test_a_post_with_nothing_signed_is_an_anonymous_write():
    assert refusal(verify_form, {"key": KEY, "content-type": "image/png"}).code == "AccessDenied"


def test_a_post_without_its_policy_is_an_invalid_argument():
    form = post_form(PNG_POLICY, {"Content-Type": "image/png"})
    del form["policy"]
    error = refusal(verify_form, form)
    assert (error.code, error.status) == ("InvalidArgument", 400)
    assert "'policy'" in error.message


def test_a_post_from_an_unknown_key_is_refused():
    form = post_form(PNG_POLICY, {"Content-Type": "image/png"})
    form["x-amz-credential"] = form["x-amz-credential"].replace("local/", "AKIAFORGED/")
    assert refusal(verify_form, form).code == "InvalidAccessKeyId"


@pytest.mark.parametrize(
    ("conditions", "fields"),
    [
        ([{"key": "a"}], {"key": "a"}),
        ([["eq", "$key", "a"]], {"key": "a"}),
        ([["starts-with", "$key", "uploads/"]], {"key": "uploads/x"}),
        ([["starts-with", "$Content-Type", ""]], {"content-type": "anything"}),
        ([{"bucket": BUCKET}], {}),
        ([], {"x-ignore-note": "not in the policy", "x-amz-signature": "s", "policy": "p", "file": "f"}),
    ],
)
def test_conditions_that_hold(conditions, fields):
    check_policy_conditions(conditions, {"bucket": BUCKET, **fields}, file_size=10)


@pytest.mark.parametrize(
    ("conditions", "fields", "message"),
    [
        ([{"key": "a"}], {"key": "b"}, 'Policy Condition failed: ["eq", "$key", "a"]'),
        ([["eq", "$key", "a"]], {}, 'Policy Condition failed: ["eq", "$key", "a"]'),
        ([["starts-with", "$key", "u/"]], {"key": "v/x"}, 'Policy Condition failed: ["starts-with", "$key", "u/"]'),
        ([{"bucket": "other"}], {}, 'Policy Condition failed: ["eq", "$bucket", "other"]'),
        ([{"key": "a"}], {"key": "a", "content-type": "image/png"}, "Extra input fields: content-type"),
    ],
)
def test_conditions_that_fail_are_named_in_the_refusal(conditions, fields, message):
    error = refusal(check_policy_conditions, conditions, {"bucket": BUCKET, **fields}, file_size=10)
    assert (error.code, error.message) == ("AccessDenied", f"Invalid according to Policy: {message}")


@pytest.mark.parametrize(("size", "code"), [(11, "EntityTooLarge"), (1, "EntityTooSmall")])
def test_a_file_outside_the_content_length_range_is_refused(size, code):
    error = refusal(check_policy_conditions, [["content-length-range", 2, 10]], {}, file_size=size)
    assert (error.code, error.status) == (code, 400)


def test_condition_names_match_fields_whatever_their_case():
    check_policy_conditions([{"Content-Type": "image/png"}], {"content-type": "image/png"}, file_size=1)
