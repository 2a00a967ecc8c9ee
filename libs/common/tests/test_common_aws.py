"""libs/common's AWS helpers: reading a failed call's error code, and deleting objects in batches (moto's S3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from imgplat_common.aws_errors import (
    error_code,
    error_message,
    http_status,
    is_conditional_check_failure,
    is_transient,
)
from imgplat_common.keys import InvalidKeyError, check_rendition_name
from imgplat_common.object_deletion import DELETE_BATCH_SIZE, ObjectsNotDeleted, delete_keys, delete_prefix
from moto import mock_aws

BUCKET = "objects"


def test_the_error_code_message_and_status_of_a_failed_call():
    error = ClientError(
        {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "UpdateItem",
    )

    assert error_code(error) == "ConditionalCheckFailedException"
    assert error_message(error) == "The conditional request failed"
    assert http_status(error) == 400
    assert is_conditional_check_failure(error)


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [("ThrottlingException", 400, True), ("SlowDown", 503, True), ("Odd", 500, True), ("AccessDenied", 403, False)],
)
def test_throttling_and_server_side_failures_are_transient(code: str, status: int, transient: bool):
    error = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "AnyOperation")
    assert is_transient(error) is transient


def test_an_error_without_an_aws_answer_has_no_code():
    assert (error_code(RuntimeError("boom")), http_status(RuntimeError("boom"))) == ("", 0)
    assert not is_conditional_check_failure(ClientError({}, "GetItem"))


@pytest.mark.parametrize("name", ["thumb", "x_2-large", "a" * 32])
def test_rendition_names_a_key_may_hold(name: str):
    assert check_rendition_name(name) == name


@pytest.mark.parametrize("name", ["Thumb", "", "a" * 33, "med ium", "../x"])
def test_rendition_names_no_key_may_hold(name: str):
    with pytest.raises(InvalidKeyError):
        check_rendition_name(name)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _keys(s3: Any) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))


def test_everything_under_a_prefix_goes_across_pages_and_nothing_else(s3: Any):
    # Given more objects under the prefix than one listing page holds, and one beside it
    for index in range(DELETE_BATCH_SIZE + 5):
        s3.put_object(Bucket=BUCKET, Key=f"renditions/a/{index}", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="renditions/ab", Body=b"x")

    deleted = delete_prefix(s3, BUCKET, "renditions/a/")

    assert deleted == DELETE_BATCH_SIZE + 5
    assert _keys(s3) == ["renditions/ab"]


def test_deleting_keys_that_are_not_there_is_fine(s3: Any):
    s3.put_object(Bucket=BUCKET, Key="kept", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x")

    delete_keys(s3, BUCKET, ["gone", "never-there"])

    assert _keys(s3) == ["kept"]


def test_keys_s3_refuses_to_delete_are_reported():
    class RefusingS3:
        def delete_objects(self, **request: Any) -> dict[str, Any]:
            return {"Errors": [{"Key": "k", "Code": "AccessDenied"}]}

    with pytest.raises(ObjectsNotDeleted, match="AccessDenied on 1 keys"):
        delete_keys(RefusingS3(), BUCKET, ["k"])
