"""One in-process end-to-end run across all four services, on moto, with the services' own definitions.

signup -> verify -> signin -> POST /upload -> PUT the object -> S3 event -> queue -> orchestrator -> workflow ->
READY -> GET ?size=medium -> the downloaded bytes are a watermarked JPEG of the right size.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from local.event_sources import run_schedules
from local.lambdas import Invocation
from local.platform import LocalPlatform

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"
PASSWORD = "Correct-Horse-9-Battery"


def call(
    platform: LocalPlatform, method: str, url: str, body: dict | None = None, token: str | None = None
) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = platform.request(method, url, headers, json.dumps(body) if body is not None else None)
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else {}


def sign_in(platform: LocalPlatform, email: str) -> str:
    assert call(platform, "POST", "/auth/signup", {"email": email, "password": PASSWORD})[0] == 202
    assert call(platform, "POST", "/auth/verify", {"email": email, "code": "123456"})[0] == 200
    status, tokens = call(platform, "POST", "/auth/signin", {"email": email, "password": PASSWORD})
    assert status == 200
    return tokens["id_token"]


def photo_bytes(fmt: str = "JPEG") -> bytes:
    """A dark, uniform 2400x1600 photo-like image: any bright pixel in a rendition comes from the watermark."""
    image = Image.new("RGB", (2400, 1600), (20, 40, 70))
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=90)
    return buffer.getvalue()


def wait_until_terminal(platform: LocalPlatform, image_id: str, token: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        platform.deliver_queue_messages()
        status, body = call(platform, "GET", f"/image/{image_id}", token=token)
        assert status == 200
        if body["status"] in {"READY", "REJECTED", "FAILED"}:
            return body
        time.sleep(0.2)
    pytest.fail(f"image {image_id} never reached a terminal status")


def test_upload_is_processed_and_served_as_a_watermarked_medium_jpeg(platform):
    token = sign_in(platform, EMAIL)

    photo = photo_bytes()
    declared = {"filename": "holiday.jpg", "content_type": "image/jpeg", "size": len(photo)}
    status, upload = call(platform, "POST", "/upload", declared, token)
    assert status == 201
    put = upload["put"]
    response = requests.put(put["url"], data=photo, headers=put["headers"], timeout=30)
    assert response.status_code == 200

    record = wait_until_terminal(platform, upload["image_id"], token)
    assert record["status"] == "READY", record

    status, medium = call(platform, "GET", f"/image/{upload['image_id']}?size=medium", token=token)
    assert status == 200
    assert "/originals/" not in medium["url"]
    # The URL is the delivery service's (CloudFront, played by the platform), which checks its signature
    downloaded = platform.request("GET", medium["url"])
    assert downloaded["statusCode"] == 200
    assert downloaded["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(downloaded["body"]))
    assert image.format == "JPEG"
    assert image.size in {(800, 533), (800, 534)}
    assert (medium["width"], medium["height"]) == image.size
    assert not image.getexif()

    # The uniform dark photo has no bright pixels of its own: bright ones in the corner are the watermark.
    gray = image.convert("L")
    width, height = gray.size
    corner = gray.crop((width // 2, height // 2, width, height))
    opposite = gray.crop((0, 0, width // 2, height // 2))
    assert corner.getextrema()[1] > 150
    assert opposite.getextrema()[1] < 80


def test_a_non_image_upload_ends_rejected_with_a_reason(platform):
    token = sign_in(platform, "grace@example.com")
    page = b"<html>not an image</html>"
    declared = {"filename": "notes.jpg", "content_type": "image/jpeg", "size": len(page)}
    status, upload = call(platform, "POST", "/upload", declared, token)
    assert status == 201
    put = upload["put"]
    assert requests.put(put["url"], data=page, headers=put["headers"], timeout=30).ok

    record = wait_until_terminal(platform, upload["image_id"], token)
    assert record["status"] == "REJECTED"
    assert record["reason"]


def test_another_users_image_is_not_found(platform):
    owner = sign_in(platform, "owner@example.com")
    stranger = sign_in(platform, "stranger@example.com")
    status, upload = call(platform, "POST", "/upload", {"content_type": "image/png", "size": 100}, owner)
    assert status == 201
    assert call(platform, "GET", f"/image/{upload['image_id']}", token=stranger)[0] == 404
    assert call(platform, "GET", f"/image/{upload['image_id']}", token=owner)[0] == 200
    assert call(platform, "GET", f"/image/{upload['image_id']}")[0] == 401
    assert urlsplit(upload["put"]["url"]).path.endswith(upload["image_id"])


def test_the_scheduled_reconciler_runs_locally_and_heals_an_upload_whose_event_was_lost(platform):
    # Given an uploaded original whose S3 event never reached processing (the ingest queue lost it)
    token = sign_in(platform, "lost-event@example.com")
    status, upload = call(
        platform, "POST", "/upload", {"content_type": "image/jpeg", "size": len(photo_bytes())}, token
    )
    assert status == 201
    sqs = platform.client("sqs")
    queue_name = platform.output("upload", "IngestQueueArn").split(":")[-1]
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    assert requests.put(upload["put"]["url"], data=photo_bytes(), headers=upload["put"]["headers"], timeout=30).ok
    sqs.purge_queue(QueueUrl=queue_url)
    # and whose PENDING record is older than the reconciler's stuck-after age
    table = platform.client("dynamodb")
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    owner = urlsplit(upload["put"]["url"]).path.split("/")[-2]
    table.update_item(
        TableName=platform.output("upload", "ImagesTableName"),
        Key={"owner": {"S": owner}, "image_id": {"S": upload["image_id"]}},
        UpdateExpression="SET updated_at = :old",
        ExpressionAttributeValues={":old": {"S": an_hour_ago}},
    )
    # When the local schedules run (every second instead of every five minutes)
    stop, ran = threading.Event(), []
    schedules = threading.Thread(target=run_schedules, args=(platform, stop, ran.append, 1), daemon=True)
    schedules.start()
    try:
        record = wait_until_terminal(platform, upload["image_id"], token)
    finally:
        stop.set()
        schedules.join(timeout=30)
    # Then the reconciler was invoked on its schedule and re-drove the upload to READY
    assert "imgplat-processing-local-reconciler: ran" in ran
    assert record["status"] == "READY", record


def test_an_orchestrator_killed_mid_batch_delays_its_image_by_one_visibility_timeout(platform, monkeypatch):
    # Given the ingest queue as deployed (visibility timeout 180 s: 6x the orchestrator's timeout), shortened here
    # to 3 s so that the test waits seconds, not minutes
    sqs = platform.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=platform.output("upload", "IngestQueueArn").split(":")[-1])["QueueUrl"]
    deployed = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert deployed["VisibilityTimeout"] == "180"
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "3"})
    # and the orchestrator's worker dies during its first batch (what a killed worker answers: test_workers.py)
    real_runner, killed_at = platform.runner, []

    def killed_once(spec, event):
        if spec.name.endswith("-orchestrator") and not killed_at:
            killed_at.append(time.monotonic())
            exit_error = {"errorType": "Runtime.ExitError", "errorMessage": "The Lambda worker exited"}
            return Invocation(exit_error, "Runtime.ExitError")
        return real_runner(spec, event)

    monkeypatch.setattr(platform, "runner", killed_once)
    try:
        token = sign_in(platform, "killed-orchestrator@example.com")
        declared = {"content_type": "image/jpeg", "size": len(photo_bytes())}
        status, upload = call(platform, "POST", "/upload", declared, token)
        assert status == 201
        assert requests.put(upload["put"]["url"], data=photo_bytes(), headers=upload["put"]["headers"], timeout=30).ok

        # When the pipeline runs
        record = wait_until_terminal(platform, upload["image_id"], token)
    finally:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": deployed["VisibilityTimeout"]})

    # Then the batch came back once its visibility timeout ran out, and the image is READY: late, never lost
    assert killed_at, "the orchestrator was never invoked"
    assert record["status"] == "READY", record
    assert time.monotonic() - killed_at[0] >= 3


# --- uploads are bound to what was declared (issue 12, point 4) ------------------------------------------------------


def _original_key(upload: dict) -> str:
    return str(upload["upload"]["fields"]["key"])


def _original_tags(platform: LocalPlatform, upload: dict) -> dict[str, str] | None:
    """The original's tags; None once it is gone."""
    s3 = platform.client("s3")
    try:
        tag_set = s3.get_object_tagging(
            Bucket=platform.output("upload", "OriginalsBucketName"), Key=_original_key(upload)
        )
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in {"NoSuchKey", "404"}:
            return None
        raise
    return {tag["Key"]: tag["Value"] for tag in tag_set["TagSet"]}


def test_a_jpeg_sent_as_a_declared_png_ends_rejected_saying_so(platform):
    # Given an upload started for a PNG of the JPEG's exact size (S3 would take it: the signed headers all match)
    token = sign_in(platform, "liar@example.com")
    photo = photo_bytes()
    status, upload = call(platform, "POST", "/upload", {"content_type": "image/png", "size": len(photo)}, token)
    assert status == 201
    assert upload["put"]["headers"]["Content-Type"] == "image/png"

    # When the JPEG's bytes are PUT with the signed headers
    assert requests.put(upload["put"]["url"], data=photo, headers=upload["put"]["headers"], timeout=30).ok

    # Then processing reads the format from the bytes, refuses the mismatch, and says what it found
    record = wait_until_terminal(platform, upload["image_id"], token)
    assert record["status"] == "REJECTED", record
    assert record["reason"] == "The file is in JPEG format, but the upload was started for image/png."
    assert _original_tags(platform, upload) == {"status": "rejected"}


def test_a_file_larger_than_declared_ends_rejected_even_where_s3_does_not_check_the_length(platform):
    # Given an upload declared at 1,000 bytes, and a bigger file sent without the signed Content-Length (moto, unlike
    # S3, does not check a pre-signed PUT's headers: processing's own check is what this proves)
    token = sign_in(platform, "bigger@example.com")
    status, upload = call(platform, "POST", "/upload", {"content_type": "image/jpeg", "size": 1000}, token)
    assert status == 201
    headers = {name: value for name, value in upload["put"]["headers"].items() if name != "Content-Length"}
    photo = photo_bytes()
    assert requests.put(upload["put"]["url"], data=photo, headers=headers, timeout=30).ok

    record = wait_until_terminal(platform, upload["image_id"], token)
    assert record["status"] == "REJECTED", record
    assert record["reason"] == f"The file is {len(photo)} bytes, but the upload was started for 1000 bytes."


def test_an_upload_after_its_pending_image_was_deleted_is_removed_and_leaves_no_record(platform):
    # Given a PENDING image its owner deleted before uploading, whose PUT URL is still valid
    token = sign_in(platform, "changed-mind@example.com")
    photo = photo_bytes()
    status, upload = call(platform, "POST", "/upload", {"content_type": "image/jpeg", "size": len(photo)}, token)
    assert status == 201
    assert call(platform, "DELETE", f"/image/{upload['image_id']}", token=token)[0] == 204

    # When the file is uploaded to that URL anyway (it arrives tagged unclaimed, the lifecycle backstop)
    assert requests.put(upload["put"]["url"], data=photo, headers=upload["put"]["headers"], timeout=30).ok
    assert _original_tags(platform, upload) == {"status": "unclaimed"}

    # Then processing removes the original (no record owns it), and no record appears
    deadline = time.monotonic() + 60
    while _original_tags(platform, upload) is not None:
        assert time.monotonic() < deadline, "the original without a record was never removed"
        platform.deliver_queue_messages()
        time.sleep(0.2)
    assert call(platform, "GET", f"/image/{upload['image_id']}", token=token)[0] == 404


def test_a_processed_original_is_tagged_claimed_out_of_the_unclaimed_rule(platform):
    token = sign_in(platform, "claimed@example.com")
    photo = photo_bytes()
    status, upload = call(platform, "POST", "/upload", {"content_type": "image/jpeg", "size": len(photo)}, token)
    assert status == 201
    assert requests.put(upload["put"]["url"], data=photo, headers=upload["put"]["headers"], timeout=30).ok

    assert wait_until_terminal(platform, upload["image_id"], token)["status"] == "READY"
    assert _original_tags(platform, upload) == {"status": "claimed"}


def test_without_a_declared_size_the_ticket_offers_only_the_post_form(platform):
    token = sign_in(platform, "no-size@example.com")

    status, upload = call(platform, "POST", "/upload", {"content_type": "image/jpeg"}, token)

    assert status == 201
    assert upload["put"] is None
    assert upload["upload"]["method"] == "POST"
