"""The events on `make dev`'s platform (`python -m local`, workers in their own processes, moto in server mode): a
team subscribes in the emulator with the exported bus ARN and receives ImageReady, then ImageDeleted."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import boto3
import jsonschema
import pytest
import requests
from PIL import Image

from local.launcher import RunningPlatform
from local.serverless_files import ROOT

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-Horse-9-Battery"


def aws(platform: RunningPlatform, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=platform.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def subscribe(platform: RunningPlatform) -> str:
    """A queue receiving every event of the platform's bus, found as a team would find the bus: by its ARN."""
    events, sqs = aws(platform, "events"), aws(platform, "sqs")
    (bus_arn,) = [bus["Arn"] for bus in events.list_event_buses()["EventBuses"] if bus["Name"].endswith("-events")]
    queue_url = sqs.create_queue(QueueName="http-team-image-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["imgplat.processing", "imgplat.retrieval"]}
    events.put_rule(Name="http-team-images", EventBusName=bus_arn, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="http-team-images", EventBusName=bus_arn, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


def received(platform: RunningPlatform, queue_url: str, image_id: str, detail_type: str) -> dict[str, Any]:
    sqs = aws(platform, "sqs")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if event["detail"]["image_id"] == image_id and event["detail-type"] == detail_type:
                schema = json.loads((ROOT / "docs" / "events" / f"{detail_type}.schema.json").read_text())
                jsonschema.validate(event, schema)
                return dict(event)
    pytest.fail(f"no {detail_type} for {image_id} arrived:\n{platform.log()[-3000:]}")


def test_a_subscriber_of_the_local_bus_hears_an_image_become_ready_and_be_deleted(local_platform):
    queue_url = subscribe(local_platform)
    api = local_platform.api_url
    email = "events-http@example.com"
    requests.post(f"{api}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30).raise_for_status()
    requests.post(f"{api}/auth/verify", json={"email": email, "code": "123456"}, timeout=30).raise_for_status()
    signin = requests.post(f"{api}/auth/signin", json={"email": email, "password": PASSWORD}, timeout=30)
    headers = {"Authorization": f"Bearer {signin.json()['id_token']}"}
    photo = io.BytesIO()
    Image.new("RGB", (1200, 800), (20, 40, 70)).save(photo, "JPEG")
    declared = {"content_type": "image/jpeg", "size": len(photo.getvalue())}  # the PUT is signed for this size
    created = requests.post(f"{api}/upload", json=declared, headers=headers, timeout=30).json()
    put = created["put"]
    assert requests.put(put["url"], data=photo.getvalue(), headers=put["headers"], timeout=60).status_code == 200

    ready = received(local_platform, queue_url, created["image_id"], "ImageReady")
    assert requests.delete(f"{api}/image/{created['image_id']}", headers=headers, timeout=30).status_code == 204
    deleted = received(local_platform, queue_url, created["image_id"], "ImageDeleted")

    assert ready["detail"]["owner"] == deleted["detail"]["owner"]
    assert len(ready["detail"]["renditions"]) == 4
