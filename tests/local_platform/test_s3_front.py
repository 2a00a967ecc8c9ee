"""The verifying front stands only before moto's S3: CORS preflights and other services pass, S3 requests are checked
and refused in S3's XML, and what passes reaches moto with its body intact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.test import Client

from local.emulator import KNOWN_KEYS, REGION
from local.s3_front import VerifyingS3Front
from tests.local_platform.s3_signing import s3_signer, signing_at

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class RecordingBackend:
    """One of moto's service apps: answers 200 and keeps the body it was given."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"moto"]


class FakeDispatcher:
    """moto's dispatcher, deciding the service by the request's path prefix."""

    def __init__(self) -> None:
        self.s3, self.sqs = RecordingBackend("s3"), RecordingBackend("sqs")

    def get_application(self, environ: dict[str, Any]) -> RecordingBackend:
        return self.sqs if environ["PATH_INFO"].startswith("/queue") else self.s3


def front() -> tuple[Client, FakeDispatcher]:
    moto = FakeDispatcher()
    app = VerifyingS3Front(moto, KNOWN_KEYS, REGION, clock=lambda: NOW)  # type: ignore[arg-type]
    return Client(app), moto


def test_an_anonymous_s3_write_is_refused_in_s3s_xml_and_never_reaches_moto():
    client, moto = front()
    answer = client.put("/originals/key", data=b"bytes")
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/xml"
    assert "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>" in answer.get_data(as_text=True)
    assert moto.s3.bodies == []


def test_a_refused_head_has_no_body():
    client, _ = front()
    answer = client.head("/originals/key")
    assert (answer.status_code, answer.get_data()) == (403, b"")


def test_cors_preflights_and_other_services_pass_untouched():
    client, moto = front()
    assert client.options("/originals/key", headers={"Origin": "http://web"}).status_code == 200
    assert client.post("/queue/ingest", data=b"Action=SendMessage").status_code == 200
    assert moto.sqs.bodies == [b"Action=SendMessage"]


def test_a_signed_put_reaches_moto_with_its_body():
    client, moto = front()
    with signing_at(NOW):
        url = s3_signer("http://localhost").generate_presigned_url(
            "put_object", Params={"Bucket": "originals", "Key": "key", "ContentType": "image/png"}
        )
    path = url.removeprefix("http://localhost")
    answer = client.put(path, data=b"png bytes", headers={"Content-Type": "image/png"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert moto.s3.bodies == [b"png bytes"]
