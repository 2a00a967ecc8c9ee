"""One in-process end-to-end run across all four services, on moto, with the services' own definitions.

signup -> verify -> signin -> POST /upload -> PUT the object -> S3 event -> queue -> orchestrator -> workflow ->
READY -> GET ?size=medium -> the downloaded bytes are a watermarked JPEG of the right size.
"""

from __future__ import annotations

import io
import json
import time
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from moto import mock_aws
from PIL import Image

from local.platform import MOTO_SETTINGS, LocalPlatform

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"
PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture(scope="module")
def platform():
    with mock_aws(config=MOTO_SETTINGS):
        local = LocalPlatform(lambda name: boto3.client(name, region_name="us-east-1"))
        local.deploy()
        with local.emulating():
            yield local


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

    status, upload = call(platform, "POST", "/upload", {"filename": "holiday.jpg", "content_type": "image/jpeg"}, token)
    assert status == 201
    put = upload["put"]
    response = requests.put(put["url"], data=photo_bytes(), headers=put["headers"], timeout=30)
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
    status, upload = call(platform, "POST", "/upload", {"filename": "notes.jpg", "content_type": "image/jpeg"}, token)
    assert status == 201
    put = upload["put"]
    assert requests.put(put["url"], data=b"<html>not an image</html>", headers=put["headers"], timeout=30).ok

    record = wait_until_terminal(platform, upload["image_id"], token)
    assert record["status"] == "REJECTED"
    assert record["reason"]


def test_another_users_image_is_not_found(platform):
    owner = sign_in(platform, "owner@example.com")
    stranger = sign_in(platform, "stranger@example.com")
    status, upload = call(platform, "POST", "/upload", {"content_type": "image/png"}, owner)
    assert status == 201
    assert call(platform, "GET", f"/image/{upload['image_id']}", token=stranger)[0] == 404
    assert call(platform, "GET", f"/image/{upload['image_id']}", token=owner)[0] == 200
    assert call(platform, "GET", f"/image/{upload['image_id']}")[0] == 401
    assert urlsplit(upload["put"]["url"]).path.endswith(upload["image_id"])
