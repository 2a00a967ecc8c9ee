"""The platform's events, end to end on the local platform: a consumer subscribes to the exported bus with nothing
but its ARN (a rule to an SQS queue, as examples/event-consumer does) and receives ImageReady, ImageRejected,
ImageFailed and ImageDeleted, each as docs/events/*.schema.json describes it."""

from __future__ import annotations

import io
import json
import time
from typing import Any
from unittest import mock

import boto3
import jsonschema
import pytest
import requests
from PIL import Image

from local.platform import LocalPlatform
from local.serverless_files import ROOT, load_yaml

pytestmark = pytest.mark.e2e

PASSWORD = "Correct-Horse-9-Battery"
SCHEMAS = ROOT / "docs" / "events"


@pytest.fixture(scope="module")
def subscription(platform: LocalPlatform) -> str:
    """Another team's subscription, as examples/event-consumer declares it: a rule with the example's own pattern on
    the exported bus ARN (the only platform value it is given), sending to the team's queue."""
    bus_arn = platform.output("processing", "EventBusArn")
    example = load_yaml(ROOT / "examples" / "event-consumer" / "serverless.yml")
    pattern = example["resources"]["Resources"]["ImageEventsRule"]["Properties"]["EventPattern"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="other-team-image-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="other-team-images", EventBusName=bus_arn, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="other-team-images", EventBusName=bus_arn, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


def call(platform: LocalPlatform, method: str, url: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    answer = platform.request(method, url, headers, json.dumps(body) if body is not None else None)
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else {}


def sign_in(platform: LocalPlatform, email: str) -> str:
    assert call(platform, "POST", "/auth/signup", {"email": email, "password": PASSWORD})[0] == 202
    assert call(platform, "POST", "/auth/verify", {"email": email, "code": "123456"})[0] == 200
    return str(call(platform, "POST", "/auth/signin", {"email": email, "password": PASSWORD})[1]["id_token"])


def upload(platform: LocalPlatform, token: str, body: bytes) -> str:
    declared = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(body)}
    status, answer = call(platform, "POST", "/upload", declared, token)
    assert status == 201
    assert requests.put(answer["put"]["url"], data=body, headers=answer["put"]["headers"], timeout=30).ok
    return str(answer["image_id"])


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), (20, 40, 70)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def received(platform: LocalPlatform, queue_url: str, image_id: str, detail_type: str) -> dict[str, Any]:
    """The first event of `detail_type` about `image_id` the subscriber's queue receives (driving the pipeline)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        platform.deliver_queue_messages()
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if event["detail"]["image_id"] == image_id and event["detail-type"] == detail_type:
                return dict(event)
        time.sleep(0.1)
    pytest.fail(f"no {detail_type} for {image_id} arrived")


def assert_documented(event: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{event['detail-type']}.schema.json").read_text())
    jsonschema.validate(event, schema)


def owner_sub(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def test_a_processed_image_arrives_as_image_ready_then_its_deletion_as_image_deleted(platform, subscription):
    token = sign_in(platform, "ready@example.com")
    image_id = upload(platform, token, photo())

    ready = received(platform, subscription, image_id, "ImageReady")

    assert_documented(ready)
    assert ready["source"] == "imgplat.processing"
    assert ready["detail"]["owner"] == owner_sub(token)
    assert [rendition["name"] for rendition in ready["detail"]["renditions"]] == ["thumb", "small", "medium", "large"]
    assert call(platform, "GET", f"/image/{image_id}", token=token)[1]["status"] == "READY"  # the table agrees

    assert call(platform, "DELETE", f"/image/{image_id}", token=token)[0] == 204
    deleted = received(platform, subscription, image_id, "ImageDeleted")

    assert_documented(deleted)
    assert (deleted["source"], deleted["detail"]["owner"]) == ("imgplat.retrieval", owner_sub(token))
    assert deleted["detail"]["event_id"] != ready["detail"]["event_id"]


def test_a_non_image_arrives_as_image_rejected_with_its_reason(platform, subscription):
    token = sign_in(platform, "rejected@example.com")
    image_id = upload(platform, token, b"<html>not an image</html>")

    rejected = received(platform, subscription, image_id, "ImageRejected")

    assert_documented(rejected)
    assert rejected["detail"]["reason"] == call(platform, "GET", f"/image/{image_id}", token=token)[1]["reason"]


def test_a_run_the_platform_fails_arrives_as_image_failed_with_its_error_id(platform, subscription):
    token = sign_in(platform, "failed@example.com")

    # The Resize step breaks (a bug, not the image's fault): the run ends FAILED
    with mock.patch("imgplat_processing.handlers.resize.resize", side_effect=RuntimeError("bug in resize")):
        image_id = upload(platform, token, photo())
        failed = received(platform, subscription, image_id, "ImageFailed")

    assert_documented(failed)
    assert failed["detail"]["error_id"] == call(platform, "GET", f"/image/{image_id}", token=token)[1]["error_id"]
