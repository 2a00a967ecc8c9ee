"""The local platform over real HTTP, as a user's app sees it: every request crosses a socket.

signup -> verify -> signin -> POST /upload -> upload with the returned form -> poll until READY -> GET ?size=medium
-> download the URL -> a watermarked 800 px JPEG without EXIF/GPS; plus a REJECTED upload, 401 and 404.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time

import pytest
import requests
from PIL import ExifTags, Image

from local.launcher import RunningPlatform, free_port

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-Horse-9-Battery"


def sign_in(platform: RunningPlatform, email: str) -> str:
    api = platform.api_url
    assert (
        requests.post(f"{api}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30).status_code == 202
    )
    assert requests.post(f"{api}/auth/verify", json={"email": email, "code": "123456"}, timeout=30).status_code == 200
    answer = requests.post(f"{api}/auth/signin", json={"email": email, "password": PASSWORD}, timeout=30)
    assert answer.status_code == 200
    return str(answer.json()["id_token"])


def phone_photo() -> bytes:
    """A dark 3000x2000 JPEG with camera EXIF and a GPS position, as a phone would upload it."""
    image = Image.new("RGB", (3000, 2000), (25, 45, 70))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Imgplat"
    exif[ExifTags.Base.Model] = "Test Phone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 22.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (4.0, 53.0, 41.0),
    }
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def wait_for_terminal_status(platform: RunningPlatform, image_id: str, token: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(f"{platform.api_url}/image/{image_id}", headers=bearer(token), timeout=30)
        assert answer.status_code == 200
        if answer.json()["status"] in {"READY", "REJECTED", "FAILED"}:
            return dict(answer.json())
        time.sleep(0.5)
    pytest.fail(f"{image_id} never reached a terminal status:\n{platform.log()[-3000:]}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_upload_with_the_presigned_post_form_is_served_as_a_clean_watermarked_rendition(local_platform):
    token = sign_in(local_platform, "ada@example.com")
    created = requests.post(
        f"{local_platform.api_url}/upload",
        json={"filename": "holiday.jpg", "content_type": "image/jpeg"},
        headers=bearer(token),
        timeout=30,
    )
    assert created.status_code == 201
    form = created.json()["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("holiday.jpg", phone_photo())}, timeout=60)
    assert posted.status_code in {200, 204}, posted.text

    record = wait_for_terminal_status(local_platform, created.json()["image_id"], token)
    assert record["status"] == "READY", record
    assert record["metadata"]["exif"]["camera_model"] == "Test Phone"
    assert "gps" not in str(record).lower()

    medium = requests.get(
        f"{local_platform.api_url}/image/{record['image_id']}",
        params={"size": "medium"},
        headers=bearer(token),
        timeout=30,
    )
    assert medium.status_code == 200
    downloaded = requests.get(medium.json()["url"], timeout=30)
    assert downloaded.status_code == 200
    image = Image.open(io.BytesIO(downloaded.content))
    assert image.format == "JPEG" and image.size == (800, 533)
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    gray = image.convert("L")
    assert gray.crop((400, 266, 800, 533)).getextrema()[1] > 150  # the watermark, bottom right
    assert gray.crop((0, 0, 400, 266)).getextrema()[1] < 90  # the dark photo itself


def test_an_upload_with_the_presigned_put_also_works(local_platform):
    token = sign_in(local_platform, "put-client@example.com")
    photo = phone_photo()
    created = requests.post(
        f"{local_platform.api_url}/upload",
        json={"content_type": "image/jpeg", "size": len(photo)},  # a PUT is signed for an exact size
        headers=bearer(token),
        timeout=30,
    ).json()
    put = created["put"]
    assert requests.put(put["url"], data=photo, headers=put["headers"], timeout=60).status_code == 200
    assert wait_for_terminal_status(local_platform, created["image_id"], token)["status"] == "READY"


def rotated_phone_photo(image_format: str) -> bytes:
    """A 1600x1200 photo stored on its side, as phones store them, with EXIF orientation 6 (turn 90 degrees
    clockwise to view): blue with a red square in the stored top-left corner, which the viewer sees top-right."""
    import pillow_heif  # the test encodes HEIC with it; the platform loads it itself

    pillow_heif.register_heif_opener()
    image = Image.new("RGB", (1600, 1200), (30, 60, 200))
    image.paste((220, 30, 30), (0, 0, 400, 400))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Imgplat"
    exif[ExifTags.Base.Model] = "Test Phone"
    buffer = io.BytesIO()
    image.save(buffer, image_format, quality=90, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize(("image_format", "content_type"), [("HEIF", "image/heic"), ("AVIF", "image/avif")])
def test_a_rotated_heic_or_avif_phone_photo_is_served_upright_in_its_colours(
    local_platform, image_format, content_type
):
    token = sign_in(local_platform, f"{image_format.lower()}-phone@example.com")
    photo = rotated_phone_photo(image_format)
    created = requests.post(
        f"{local_platform.api_url}/upload",
        json={"filename": "IMG_0001", "content_type": content_type, "size": len(photo)},
        headers=bearer(token),
        timeout=30,
    ).json()
    put = created["put"]
    assert requests.put(put["url"], data=photo, headers=put["headers"], timeout=60).status_code == 200

    record = wait_for_terminal_status(local_platform, created["image_id"], token)
    assert record["status"] == "READY", record
    assert record["metadata"]["exif"]["camera_model"] == "Test Phone"
    small = requests.get(
        f"{local_platform.api_url}/image/{record['image_id']}",
        params={"size": "small", "format": "jpeg"},
        headers=bearer(token),
        timeout=30,
    ).json()
    image = Image.open(io.BytesIO(requests.get(small["url"], timeout=30).content)).convert("RGB")
    assert image.size == (240, 320)  # portrait: turned once
    red, blue = image.getpixel((image.width - 10, 10)), image.getpixel((10, image.height - 10))
    assert red[0] > 180 and red[2] < 80, red  # the red square, top right as the phone's screen showed it
    assert blue[2] > 160 and blue[0] < 80, blue


def test_a_non_image_ends_rejected_with_a_readable_reason(local_platform):
    token = sign_in(local_platform, "grace@example.com")
    page = b"<html><script>alert(1)</script></html>"
    created = requests.post(
        f"{local_platform.api_url}/upload",
        json={"filename": "notes.jpg", "content_type": "image/jpeg", "size": len(page)},
        headers=bearer(token),
        timeout=30,
    ).json()
    put = created["put"]
    assert requests.put(put["url"], data=page, headers=put["headers"], timeout=30).ok
    record = wait_for_terminal_status(local_platform, created["image_id"], token)
    assert record["status"] == "REJECTED" and record["reason"]


def test_without_a_token_the_api_answers_401_before_any_handler(local_platform):
    for method, path in (("POST", "/upload"), ("GET", "/images"), ("GET", "/image/0" * 1), ("DELETE", "/image/abc")):
        answer = requests.request(method, f"{local_platform.api_url}{path}", timeout=30)
        assert answer.status_code == 401, (method, path)
        assert answer.json()["error"]["code"] == "unauthorized"  # the service's own gateway response shape
    garbage = requests.get(f"{local_platform.api_url}/images", headers=bearer("not-a-jwt"), timeout=30)
    assert garbage.status_code == 401


def test_a_route_that_does_not_exist_is_404_even_with_a_valid_token(local_platform):
    token = sign_in(local_platform, "lost@example.com")
    unknown = (("GET", "/image"), ("GET", "/upload"), ("POST", "/images"), ("GET", "/nothing/here"), ("OPTIONS", "/x"))
    for method, path in unknown:
        # When a signed-in caller asks for a path or method no route has
        answer = requests.request(method, f"{local_platform.api_url}{path}", headers=bearer(token), timeout=30)
        # Then the answer says the route is unknown, not that a token is missing
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["code"] == "not_found", (method, path)
        assert "route" in answer.json()["error"]["message"]


def _raw_exchange(platform: RunningPlatform, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written byte for byte (requests refuses to send these), and the answer's status, headers, body."""
    host, port = platform.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /images HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431),
        (b"POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: \u00b2\r\n\r\n".encode("latin-1"), 400),
    ],
)
def test_requests_the_http_server_itself_refuses_are_answered_in_json(local_platform, request_bytes, status):
    # Given a request line or header too long, or a length that is no length
    answer_status, headers, body = _raw_exchange(local_platform, request_bytes)
    # Then the answer is JSON like every other, at once, and the connection closes
    assert answer_status == status
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["message"]


def test_another_users_image_is_404(local_platform):
    owner = sign_in(local_platform, "owner@example.com")
    stranger = sign_in(local_platform, "stranger@example.com")
    created = requests.post(
        f"{local_platform.api_url}/upload", json={"content_type": "image/png"}, headers=bearer(owner), timeout=30
    ).json()
    url = f"{local_platform.api_url}/image/{created['image_id']}"
    assert requests.get(url, headers=bearer(owner), timeout=30).status_code == 200
    assert requests.get(url, headers=bearer(stranger), timeout=30).status_code == 404


def test_cors_preflight_is_answered_for_browser_clients(local_platform):
    answer = requests.options(
        f"{local_platform.api_url}/upload",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] in {"*", "http://localhost:5173"}
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]


def test_a_busy_port_gives_a_clear_error(local_platform):
    result = subprocess.run(
        [sys.executable, "-m", "local", "--api-port", str(local_platform.api_port), "--aws-port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"port {local_platform.api_port}" in result.stdout and "already in use" in result.stdout


def test_the_platform_log_says_which_verification_code_to_type(local_platform):
    answer = requests.post(
        f"{local_platform.api_url}/auth/forgot-password", json={"email": "nobody@example.com"}, timeout=30
    )
    assert answer.status_code == 202
    deadline = time.monotonic() + 10
    while "verification code for /auth/forgot-password" not in local_platform.log():
        assert time.monotonic() < deadline, local_platform.log()[-2000:]
        time.sleep(0.2)
    assert "123456" in local_platform.log()
