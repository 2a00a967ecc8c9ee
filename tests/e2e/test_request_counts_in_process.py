"""The emulator's request counter sees what one real upload costs: its S3, DynamoDB, Step Functions, Lambda and
EventBridge requests, counted by operation on the in-process platform (what bench/cost.py prices)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from local.platform import LocalPlatform, deployed_in_process
from local.request_counts import RequestCounts, counting_in_process
from tests.e2e.test_pipeline_in_process import photo_bytes, sign_in, wait_until_terminal

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def counted() -> Iterator[tuple[LocalPlatform, RequestCounts]]:
    with counting_in_process(RequestCounts()) as counts, deployed_in_process() as platform:
        yield platform, counts


def test_one_upload_is_counted_by_service_and_operation(counted):
    platform, counts = counted
    token = sign_in(platform, "counted@example.com")
    photo = photo_bytes()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    declared = json.dumps({"content_type": "image/jpeg", "size": len(photo)})
    upload = json.loads(platform.request("POST", "/upload", headers, declared)["body"])
    counts.reset()

    # When the photo is PUT to its pre-signed URL (through `requests`, not boto3) and processed to READY
    assert requests.put(upload["put"]["url"], data=photo, headers=upload["put"]["headers"], timeout=30).ok
    assert wait_until_terminal(platform, upload["image_id"], token)["status"] == "READY"
    seen = counts.snapshot()

    # Then the upload, the queue, the workflow and each of its steps' requests were counted
    assert seen["s3"]["PutObject"] >= 1 + 4  # the original, then at least one file per rendition
    assert seen["s3"]["GetObject"] >= 1
    # Resize's pixels reach Watermark as one work object, removed by its key: nothing is listed on the way to READY
    assert seen["s3"]["DeleteObject"] == 1 and "ListObjectsV2" not in seen["s3"]
    assert seen["stepfunctions"]["StartExecution"] == 1
    assert seen["lambda"]["Invoke"] >= 4  # the workflow's Lambda steps
    assert seen["dynamodb"].keys() & {"PutItem", "UpdateItem", "TransactWriteItems"}
    assert seen["events"]["PutEvents"] >= 1
    assert seen["sqs"]["ReceiveMessage"] >= 1
    # and nothing was left unnamed
    assert not [op for ops in seen.values() for op in ops if op.startswith(("GET ", "POST ", "PUT "))], seen
