"""The verifying front stands only before moto's S3: CORS preflights and other services pass, S3 requests are checked
and refused in S3's XML, and what passes reaches moto with its body intact."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import boto3
from moto import mock_aws
from werkzeug.test import Client

from local.emulator import KNOWN_KEYS, REGION
from local.s3_front import VerifyingS3Front, tag_in_moto, tags_from_tagging_xml
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


UNCLAIMED_TAGGING = "<Tagging><TagSet><Tag><Key>status</Key><Value>unclaimed</Value></Tag></TagSet></Tagging>"


def tagging_front(moto_status: str) -> tuple[Client, list[tuple[str, str, dict[str, str]]]]:
    """A front whose moto answers `moto_status` to everything, recording what the front asks to be tagged."""
    tagged: list[tuple[str, str, dict[str, str]]] = []

    def moto_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(moto_status, [])
        return [b""]

    moto_app.service = "s3"  # type: ignore[attr-defined]
    dispatcher = type("Dispatcher", (), {"get_application": lambda self, environ: moto_app})()
    app = VerifyingS3Front(dispatcher, KNOWN_KEYS, REGION, clock=lambda: NOW, tag_object=lambda *t: tagged.append(t))
    return Client(app), tagged


def signed_post_with_tagging(tagging: str = UNCLAIMED_TAGGING) -> dict[str, Any]:
    with signing_at(NOW):
        form = s3_signer("http://localhost").generate_presigned_post(
            "originals",
            "originals/u/i",
            Fields={"tagging": tagging},
            Conditions=[{"tagging": tagging}],
        )
    return {**form["fields"], "file": (io.BytesIO(b"png bytes"), "photo.png")}


def test_a_post_forms_tagging_tags_the_object_moto_stored():
    # moto ignores a POST form's tagging field; S3 tags the object with it, and so does the local S3
    client, tagged = tagging_front("204 No Content")
    answer = client.post("/originals", data=signed_post_with_tagging())
    assert answer.status_code == 204
    assert tagged == [("originals", "originals/u/i", {"status": "unclaimed"})]


def test_a_post_moto_refused_tags_nothing():
    client, tagged = tagging_front("400 Bad Request")
    assert client.post("/originals", data=signed_post_with_tagging()).status_code == 400
    assert tagged == []


def test_a_signed_post_whose_tagging_is_not_xml_is_refused_and_tags_nothing():
    client, tagged = tagging_front("204 No Content")
    answer = client.post("/originals", data=signed_post_with_tagging("<Tagging><TagSet>"))
    assert answer.status_code == 400
    assert "<Code>MalformedXML</Code>" in answer.get_data(as_text=True)
    assert tagged == []


def test_a_sigv2_pre_signed_url_is_refused_as_an_unsupported_mechanism():
    client, moto = front()
    answer = client.get("/originals/key?AWSAccessKeyId=AKIDEXAMPLE&Expires=1893456000&Signature=c2lnbmF0dXJl")
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert "<Code>InvalidRequest</Code>" in body and "Please use AWS4-HMAC-SHA256." in body
    assert moto.s3.bodies == []


def test_tags_reach_the_object_in_motos_own_store():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="originals")
        s3.put_object(Bucket="originals", Key="originals/u/i", Body=b"png bytes")
        tag_in_moto("originals", "originals/u/i", tags_from_tagging_xml(UNCLAIMED_TAGGING))
        tags = s3.get_object_tagging(Bucket="originals", Key="originals/u/i")["TagSet"]
    assert tags == [{"Key": "status", "Value": "unclaimed"}]
