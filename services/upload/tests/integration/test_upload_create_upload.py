"""POST /upload through the real handler: API Gateway proxy events in, moto DynamoDB/S3/KMS behind."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from imgplat_upload.handlers import create_upload

MIB = 1024 * 1024

# Refused requests publish no metric on purpose; Powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def _call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = create_upload.handler(event, context)
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return response["statusCode"], json.loads(response["body"]), headers


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def test_upload_returns_201_with_a_post_form_a_put_url_and_the_status_location(
    platform, upload_event, lambda_context, owner_sub
):
    # Given a signed-in caller
    # When they ask to upload a JPEG of a declared size
    status, body, headers = _call(
        upload_event({"content_type": "image/jpeg", "filename": "cat.jpg", "size": 2048}), lambda_context
    )

    # Then they get a PENDING image id, a POST form, a PUT URL and where to follow the image
    assert status == 201
    image_id = body["image_id"]
    assert body["status"] == "PENDING"
    assert body["expires_in"] == 300
    assert body["max_bytes"] == 25 * MIB
    assert body["status_url"] == f"/image/{image_id}"
    assert headers["Location"] == f"/image/{image_id}"
    assert body["upload"]["method"] == "POST"
    assert body["upload"]["fields"]["key"] == f"originals/{owner_sub}/{image_id}"
    assert platform.bucket in body["upload"]["url"]
    assert body["put"]["method"] == "PUT"
    assert body["put"]["headers"] == {
        "Content-Length": "2048",
        "Content-Type": "image/jpeg",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": platform.kms_key_arn,
        "x-amz-tagging": "status=unclaimed",
    }


def test_post_policy_pins_key_type_exact_size_and_encryption(platform, upload_event, lambda_context, owner_sub):
    # Given a caller declaring a 2048-byte PNG
    status, body, _ = _call(upload_event({"content_type": "image/png", "size": 2048}), lambda_context)
    assert status == 201
    fields = body["upload"]["fields"]
    key = f"originals/{owner_sub}/{body['image_id']}"

    # When the policy S3 will enforce is decoded
    policy = _policy(fields)

    # Then it holds exactly the platform's conditions, plus the signature's own
    signature_fields = {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"}
    conditions = [c for c in policy["conditions"] if not (isinstance(c, dict) and set(c) <= signature_fields)]
    assert sorted(map(json.dumps, conditions)) == sorted(
        map(
            json.dumps,
            [
                {"Content-Type": "image/png"},
                ["content-length-range", 2048, 2048],
                {"x-amz-server-side-encryption": "aws:kms"},
                {"x-amz-server-side-encryption-aws-kms-key-id": platform.kms_key_arn},
                {"tagging": fields["tagging"]},
                {"bucket": platform.bucket},
                {"key": key},
            ],
        )
    )
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in policy["conditions"]
    assert "expiration" in policy
    # And the form carries the same values, so a browser only has to append the file
    assert fields["Content-Type"] == "image/png"
    assert fields["x-amz-server-side-encryption"] == "aws:kms"
    assert fields["x-amz-server-side-encryption-aws-kms-key-id"] == platform.kms_key_arn
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_without_a_declared_size_the_policy_allows_one_byte_to_the_limit_and_there_is_no_put(
    platform, upload_event, lambda_context
):
    status, body, _ = _call(upload_event({"content_type": "image/webp"}), lambda_context)

    assert status == 201
    assert ["content-length-range", 1, 25 * MIB] in _policy(body["upload"]["fields"])["conditions"]
    assert body["put"] is None


def test_put_url_signs_the_exact_length_type_encryption_and_tag_headers(
    platform, upload_event, lambda_context, owner_sub
):
    status, body, _ = _call(upload_event({"content_type": "image/gif", "size": 10}), lambda_context)
    assert status == 201

    url = urlparse(body["put"]["url"])
    query = parse_qs(url.query)
    signed_headers = query["X-Amz-SignedHeaders"][0].split(";")
    # Every header the client is told to send is under the signature (and nothing it is not told to send but host)
    assert set(signed_headers) == {name.lower() for name in body["put"]["headers"]} | {"host"}
    assert {"content-length", "content-type", "x-amz-tagging"} <= set(signed_headers)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert url.path.endswith(f"originals/{owner_sub}/{body['image_id']}")
    # The regional endpoint, also in us-east-1
    assert "s3.us-east-1.amazonaws.com" in url.netloc


def test_pending_record_is_stored_for_the_token_owner(platform, upload_event, lambda_context, owner_sub):
    status, body, _ = _call(
        upload_event({"content_type": "image/tiff", "filename": "scan.tiff", "size": 4096}), lambda_context
    )
    assert status == 201

    item = (
        boto3.resource("dynamodb")
        .Table(platform.table_name)
        .get_item(Key={"owner": owner_sub, "image_id": body["image_id"]})["Item"]
    )
    assert item["status"] == "PENDING"
    assert item["owner"] == owner_sub
    assert item["original_key"] == f"originals/{owner_sub}/{body['image_id']}"
    assert item["content_type"] == "image/tiff"
    assert item["filename"] == "scan.tiff"
    assert item["declared_size"] == 4096
    assert item["created_at"] == item["updated_at"]


@pytest.mark.parametrize(
    "sent_and_stored",
    [
        ("a\u001b[31m\r\nb.jpg", "a [31m b.jpg"),  # a terminal's colour escape and a line break: spaces
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # a right-to-left override that shows "exe.jpg"
        ("\u0000\u0007\u009b", None),  # nothing printable left: no name
        ("Été à Zürich 🌅.jpg", "Été à Zürich 🌅.jpg"),  # what people name their photos stays
    ],
)
def test_a_filename_is_stored_without_control_or_bidi_characters(
    platform, upload_event, lambda_context, owner_sub, sent_and_stored
):
    sent, stored = sent_and_stored
    status, body, _ = _call(upload_event({"content_type": "image/jpeg", "filename": sent}), lambda_context)

    assert status == 201
    item = (
        boto3.resource("dynamodb")
        .Table(platform.table_name)
        .get_item(Key={"owner": owner_sub, "image_id": body["image_id"]})["Item"]
    )
    assert item.get("filename") == stored


def test_client_filename_never_reaches_the_object_key(platform, upload_event, lambda_context, owner_sub):
    status, body, _ = _call(
        upload_event({"content_type": "image/jpeg", "filename": "../../x/evil.jpg"}), lambda_context
    )

    assert status == 201
    key = body["upload"]["fields"]["key"]
    assert key == f"originals/{owner_sub}/{body['image_id']}"
    assert "evil" not in key and ".." not in key
    assert "evil" not in base64.b64decode(body["upload"]["fields"]["policy"]).decode()


def test_seed_clients_body_of_filename_and_content_type_works(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event({"filename": "holiday.png", "content_type": "image/png"}), lambda_context)

    assert status == 201
    assert body["status"] == "PENDING"


def test_image_jpg_is_accepted_as_jpeg(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event({"content_type": "image/jpg", "size": 10}), lambda_context)

    assert status == 201
    assert body["put"]["headers"]["Content-Type"] == "image/jpeg"
    assert body["upload"]["fields"]["Content-Type"] == "image/jpeg"


def test_unsupported_type_is_415_listing_the_allowed_types(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event({"content_type": "application/pdf", "filename": "cv.pdf"}), lambda_context)

    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"
    assert body["error"]["allowed"] == [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
    ]


def test_declared_size_over_the_limit_is_413(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event({"content_type": "image/png", "size": 25 * MIB + 1}), lambda_context)

    assert status == 413
    assert body["error"]["code"] == "too_large"
    assert body["error"]["max_bytes"] == 25 * MIB


def test_nothing_is_recorded_for_a_refused_request(platform, upload_event, lambda_context):
    _call(upload_event({"content_type": "image/svg+xml"}), lambda_context)
    _call(upload_event({"content_type": "image/png", "size": 25 * MIB + 1}), lambda_context)

    assert boto3.resource("dynamodb").Table(platform.table_name).scan()["Count"] == 0


def test_missing_content_type_is_400_naming_the_field(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event({"filename": "cat.jpg"}), lambda_context)

    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert [problem["field"] for problem in body["error"]["fields"]] == ["content_type"]


def test_zero_or_non_integer_size_is_400(platform, upload_event, lambda_context):
    for size in (0, -5, "12", 1.5):
        status, body, _ = _call(upload_event({"content_type": "image/png", "size": size}), lambda_context)
        assert status == 400, size
        assert body["error"]["code"] == "invalid_request"


def test_filename_longer_than_255_characters_is_400(platform, upload_event, lambda_context):
    status, _, _ = _call(upload_event({"content_type": "image/png", "filename": "a" * 256}), lambda_context)

    assert status == 400


def test_malformed_json_is_400(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event(None, raw_body="{content_type: image/png"), lambda_context)

    assert status == 400
    assert "error" in body


def test_unknown_field_is_400_naming_it(platform, upload_event, lambda_context):
    # A misspelt "size" must not silently give an unbound upload
    status, body, _ = _call(upload_event({"content_type": "image/png", "sise": 1024}), lambda_context)

    assert status == 400
    assert [problem["field"] for problem in body["error"]["fields"]] == ["sise"]


def test_body_nested_2000_deep_is_400_and_nothing_is_recorded(platform, upload_event, lambda_context):
    nested = '{"content_type": "image/png", "filename": ' + "[" * 2_000 + "]" * 2_000 + "}"
    status, body, _ = _call(upload_event(None, raw_body=nested), lambda_context)

    assert status == 400 and body["error"]["code"] == "body_too_deep"
    assert boto3.resource("dynamodb").Table(platform.table_name).scan()["Count"] == 0


def test_body_over_16_kib_is_413_even_when_nested(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event(None, raw_body="[" * 9_000 + "]" * 9_000), lambda_context)

    assert status == 413 and body["error"]["code"] == "body_too_large"


def test_request_without_authorizer_claims_is_401(platform, upload_event, lambda_context):
    status, body, _ = _call(upload_event({"content_type": "image/png"}, sub=None), lambda_context)

    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert boto3.resource("dynamodb").Table(platform.table_name).scan()["Count"] == 0


def test_object_put_with_the_returned_instructions_lands_under_the_callers_prefix(
    platform, upload_event, lambda_context, owner_sub
):
    # Given an upload ticket
    status, body, _ = _call(upload_event({"content_type": "image/png", "size": 8}), lambda_context)
    assert status == 201
    key = body["upload"]["fields"]["key"]
    headers = body["put"]["headers"]

    # When the bytes are PUT with the returned key and headers (moto cannot serve the pre-signed URL in this mode)
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=platform.bucket,
        Key=key,
        Body=b"\x89PNG\r\n\x1a\n",
        ContentType=headers["Content-Type"],
        ServerSideEncryption=headers["x-amz-server-side-encryption"],
        SSEKMSKeyId=headers["x-amz-server-side-encryption-aws-kms-key-id"],
    )

    # Then the original is stored under originals/<sub>/<id>, encrypted with the platform key
    stored = s3.head_object(Bucket=platform.bucket, Key=f"originals/{owner_sub}/{body['image_id']}")
    assert stored["ContentType"] == "image/png"
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"] == platform.kms_key_arn


def test_each_request_gets_a_new_image_id(platform, upload_event, lambda_context):
    ids = {_call(upload_event({"content_type": "image/png"}), lambda_context)[1]["image_id"] for _ in range(3)}

    assert len(ids) == 3
