"""Each emulator request is named as the bill names it: by service and operation, S3 by its price class."""

from __future__ import annotations

import json
import threading

import pytest

from local.request_counts import (
    REQUEST_COUNTS_PATH,
    S3_FREE,
    S3_READ,
    S3_WRITE_OR_LIST,
    AwsRequest,
    RequestCounts,
    operation_name,
    s3_operation,
    s3_price_class,
    service_of_url,
)
from tests.local_platform.test_s3_front import front

LOCAL_HOST = "127.0.0.1:4566"


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation"),
    [
        ("PUT", "/originals/u/1", "", {}, "PutObject"),
        ("PUT", "/originals/u/1", "", {"x-amz-copy-source": "/originals/u/0"}, "CopyObject"),
        ("PUT", "/originals/u/1", "tagging", {}, "PutObjectTagging"),
        ("PUT", "/originals/u/1", "partNumber=1&uploadId=x", {}, "UploadPart"),
        ("PUT", "/originals", "cors", {}, "PutBucket"),
        ("POST", "/originals", "", {"content-type": "multipart/form-data; boundary=b"}, "PostObject"),
        ("POST", "/originals", "delete", {}, "DeleteObjects"),
        ("GET", "/originals/u/1", "", {}, "GetObject"),
        ("GET", "/originals/u/1", "tagging", {}, "GetObjectTagging"),
        ("GET", "/originals", "list-type=2&prefix=u/", {}, "ListObjectsV2"),
        ("GET", "/originals", "", {}, "ListObjects"),
        ("HEAD", "/originals/u/1", "", {}, "HeadObject"),
        ("HEAD", "/originals", "", {}, "HeadBucket"),
        ("DELETE", "/originals/u/1", "", {}, "DeleteObject"),
        ("DELETE", "/originals/u/1", "tagging", {}, "DeleteObjectTagging"),
    ],
)
def test_s3_requests_are_named_from_method_key_and_subresource(method, path, query, headers, operation):
    assert operation_name(AwsRequest("s3", method, LOCAL_HOST, path, query, headers)) == operation


def test_a_virtual_hosted_s3_request_has_its_key_in_the_path():
    assert s3_operation("GET", "originals.s3.amazonaws.com", "/u/1", {}, {}) == "GetObject"
    assert s3_operation("GET", "originals.s3.amazonaws.com", "/", {"list-type": "2"}, {}) == "ListObjectsV2"


@pytest.mark.parametrize(
    ("operation", "price_class"),
    [
        ("PutObject", S3_WRITE_OR_LIST),
        ("CopyObject", S3_WRITE_OR_LIST),
        ("PostObject", S3_WRITE_OR_LIST),
        ("PutObjectTagging", S3_WRITE_OR_LIST),
        ("ListObjectsV2", S3_WRITE_OR_LIST),
        ("GetObject", S3_READ),
        ("HeadObject", S3_READ),
        ("GetObjectTagging", S3_READ),
        ("DeleteObject", S3_FREE),
        ("DeleteObjects", S3_FREE),
    ],
)
def test_s3_operations_fall_in_the_price_lists_classes(operation, price_class):
    assert s3_price_class(operation) == price_class


def test_json_protocols_are_named_by_their_target_and_query_protocols_by_their_action():
    dynamodb = {"x-amz-target": "DynamoDB_20120810.PutItem"}
    assert operation_name(AwsRequest("dynamodb", "POST", LOCAL_HOST, "/", "", dynamodb)) == "PutItem"
    sfn = {"x-amz-target": "AWSStepFunctions.StartExecution"}
    assert operation_name(AwsRequest("stepfunctions", "POST", LOCAL_HOST, "/", "", sfn)) == "StartExecution"
    form = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    publish = AwsRequest("sns", "POST", LOCAL_HOST, "/", "", form, b"Action=Publish&TopicArn=x")
    assert operation_name(publish) == "Publish"
    identity = AwsRequest("sts", "GET", LOCAL_HOST, "/", "Action=GetCallerIdentity")
    assert operation_name(identity) == "GetCallerIdentity"


def test_a_lambda_invoke_is_named_from_its_path():
    path = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Aresize/invocations"
    assert operation_name(AwsRequest("awslambda", "POST", LOCAL_HOST, path)) == "Invoke"
    listed = AwsRequest("awslambda", "GET", LOCAL_HOST, "/2015-03-31/functions/resize")
    assert operation_name(listed) == "GET /2015-03-31"


def test_aws_urls_are_attributed_to_the_service_moto_dispatches_them_to():
    assert service_of_url("https://dynamodb.us-east-1.amazonaws.com/") == "dynamodb"
    assert service_of_url("https://originals.s3.amazonaws.com/u/1") == "s3"
    assert service_of_url("https://example.com/") is None


def test_counts_are_tallied_by_service_and_operation_and_reset():
    counts = RequestCounts()
    for _ in range(3):
        counts.add("s3", "PutObject")
    counts.add("dynamodb", "GetItem")
    assert counts.snapshot() == {"dynamodb": {"GetItem": 1}, "s3": {"PutObject": 3}}
    counts.reset()
    assert counts.snapshot() == {}


def test_the_emulator_front_counts_every_service_and_answers_the_counts_until_reset():
    # Given the emulator's front (with a fake moto that answers every request)
    client, moto = front()
    # When an anonymous S3 write (refused) and an SQS query-protocol call arrive
    client.put("/originals/key", data=b"bytes")
    client.post(
        "/queue/ingest", data=b"Action=SendMessage", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    # Then both are counted, and moto still got the SQS body the counter read
    assert json.loads(client.get(REQUEST_COUNTS_PATH).get_data()) == {
        "s3": {"PutObject": 1},
        "sqs": {"SendMessage": 1},
    }
    assert moto.sqs.bodies == [b"Action=SendMessage"]
    # and DELETE resets them
    assert json.loads(client.delete(REQUEST_COUNTS_PATH).get_data()) == {}


def test_a_thread_can_leave_its_own_requests_uncounted_while_other_threads_are_counted():
    counts = RequestCounts()
    with counts.ignored_in_this_thread():
        counts.add("dynamodb", "GetItem")
        other = threading.Thread(target=counts.add, args=("s3", "PutObject"))
        other.start()
        other.join()
    counts.add("awslambda", "Invoke")  # moto's name for Lambda is counted under AWS's
    assert counts.snapshot() == {"lambda": {"Invoke": 1}, "s3": {"PutObject": 1}}
