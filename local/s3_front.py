"""The local S3 enforces what S3 enforces: a verifying front (WSGI) in front of moto, which checks none of it.

Every request moto would answer as S3 is checked first (local/s3_auth.py): a pre-signed URL's signature, validity
window and signed headers; an SDK request's Authorization header and payload hash; a browser POST's policy and each
of its conditions. A request without any signature is refused (the buckets are private). Refusals are S3's own XML
error documents; what passes reaches moto unchanged. CORS preflights and every other service pass straight through.
A POST form's `tagging` field, which moto ignores, is applied to the stored object as S3 does.
Not emulated: bucket policies, IAM permissions, KMS key use and ACLs (every known key may do anything).
The front also counts every request by service and operation (local/request_counts.py) and answers those counts at
REQUEST_COUNTS_PATH (GET reads them, DELETE resets them): what bench/cost.py prices.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.formparser import parse_form_data
from werkzeug.serving import BaseWSGIServer, make_server

from local.request_counts import REQUEST_COUNTS_PATH, RequestCounts, needs_body, wsgi_operation
from local.s3_auth import (
    S3Error,
    S3Request,
    access_denied,
    invalid_argument,
    unsupported_mechanism,
    verify_header_signed,
    verify_post_form,
    verify_presigned,
)
from local.stack import ACCOUNT_ID

Clock = Callable[[], datetime]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
# Tags a stored object: (bucket, key, tags).
ObjectTagger = Callable[[str, str, dict[str, str]], None]
PRESIGNED_MARKERS = {"X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential"}
SIGV2_MARKERS = {"AWSAccessKeyId", "Signature"}
# WSGI keeps these two headers outside the HTTP_* keys.
UNPREFIXED_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, put back so moto reads it again (S3 bodies are bounded; buffering keeps this simple)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    body: bytes = (
        stream.read(int(length)) if length else (stream.read() if environ.get("wsgi.input_terminated") else b"")
    )
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {
        name.removeprefix("HTTP_").replace("_", "-").lower(): str(value)
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    headers.update({header: str(environ[key]) for key, header in UNPREFIXED_HEADERS.items() if environ.get(key)})
    return headers


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in the order sent; '+' stays a plus, as in SigV4's encoding."""
    return [
        (unquote(name), unquote(value))
        for name, _, value in (pair.partition("=") for pair in raw_query.split("&") if pair)
    ]


def tags_from_tagging_xml(document: str) -> dict[str, str]:
    """The tags of a POST form's `tagging` field (S3's <Tagging><TagSet><Tag>... document, namespaced or not);
    MalformedXML if it is not XML."""
    try:
        root = ElementTree.fromstring(document)  # noqa: S314 - the policy signature covered this field
    except ElementTree.ParseError as error:
        raise S3Error("MalformedXML", "The XML you provided was not well-formed.", 400) from error
    tags = {}
    for element in root.iter():
        if element.tag.rpartition("}")[2] == "Tag":
            parts = {child.tag.rpartition("}")[2]: child.text or "" for child in element}
            tags[parts.get("Key", "")] = parts.get("Value", "")
    return tags


def tag_in_moto(bucket: str, key: str, tags: dict[str, str]) -> None:
    """Tag an object in this process's moto (the server's backend), as S3 tags a POST upload that carries tags."""
    backend = s3_backends[ACCOUNT_ID]["aws"]
    stored = backend.get_object(bucket, key)
    if stored is not None:
        backend.put_object_tagging(stored, tags)


@dataclass(frozen=True)
class TaggedPost:
    """A verified POST upload whose form asks S3 to tag the object it stores."""

    bucket: str
    key: str
    tags: dict[str, str]


def s3_request(environ: dict[str, Any]) -> S3Request:
    """The request as S3 verifies it: the path and query as sent (still percent-encoded: what was signed; werkzeug
    keeps it in RAW_URI), the headers and the whole body."""
    raw_uri = environ.get("RAW_URI") or f"{quote(environ.get('PATH_INFO', '/'))}?{environ.get('QUERY_STRING', '')}"
    raw_path, _, raw_query = str(raw_uri).partition("?")
    return S3Request(
        method=environ["REQUEST_METHOD"],
        raw_path=raw_path,
        query=query_pairs(raw_query),
        headers=request_headers(environ),
        body=read_body(environ),
    )


def error_document(error: S3Error, request_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
    ).encode()


class VerifyingS3Front:
    """A WSGI application: moto's, with S3's authentication in front of its S3 (see the module docstring)."""

    def __init__(
        self,
        moto: DomainDispatcherApplication,
        credentials: Mapping[str, str],
        region: str,
        clock: Clock = utc_now,
        tag_object: ObjectTagger = tag_in_moto,
    ) -> None:
        self._moto = moto
        self._credentials = dict(credentials)
        self._region = region
        self._clock = clock
        self._tag_object = tag_object
        self.counts = RequestCounts()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == REQUEST_COUNTS_PATH:
            return self.answer_counts(environ, start_response)
        backend = self._moto.get_application(environ)
        service = getattr(backend, "service", None)
        preflight = environ["REQUEST_METHOD"] == "OPTIONS"
        if service and service != "moto_api" and not preflight:
            self.count(service, environ)
        if service != "s3" or preflight:
            return backend(environ, start_response)
        try:
            tagged_post = self.verify(environ)
        except S3Error as error:
            return self.refuse(error, environ, start_response)
        if tagged_post is None:
            return backend(environ, start_response)
        return self.store_then_tag(backend, environ, start_response, tagged_post)

    def count(self, service: str, environ: dict[str, Any]) -> None:
        body = read_body(environ) if needs_body(service, environ) else b""
        self.counts.add(service, wsgi_operation(service, environ, request_headers(environ), body))

    def store_then_tag(
        self, moto_s3: WsgiApp, environ: dict[str, Any], start_response: StartResponse, tagged_post: TaggedPost
    ) -> Iterable[bytes]:
        """moto stores the POSTed object while answering; the object is tagged only if it answered 2xx."""
        statuses: list[str] = []

        def recording_start_response(status: str, *args: Any) -> Any:
            statuses.append(status)
            return start_response(status, *args)

        answer = moto_s3(environ, recording_start_response)
        if statuses and statuses[0].startswith("2"):
            self._tag_object(tagged_post.bucket, tagged_post.key, tagged_post.tags)
        return answer

    def verify(self, environ: dict[str, Any]) -> TaggedPost | None:
        """Raises S3Error unless the request is signed as S3 requires; a POST form with tags says what to tag."""
        request = s3_request(environ)
        parameter_names = {name for name, _ in request.query}
        now = self._clock()
        if "authorization" in request.headers:
            verify_header_signed(request, self._credentials, self._region, now)
        elif parameter_names & PRESIGNED_MARKERS:
            verify_presigned(request, self._credentials, self._region, now)
        elif parameter_names & SIGV2_MARKERS:
            raise unsupported_mechanism()
        elif request.method == "POST" and request.headers.get("content-type", "").startswith("multipart/form-data"):
            return self.verify_post(environ, request, now)
        else:
            raise access_denied()
        return None

    def verify_post(self, environ: dict[str, Any], request: S3Request, now: datetime) -> TaggedPost | None:
        """A browser POST to /<bucket>: the form's fields and its file, checked against the signed policy."""
        bucket, _, rest = unquote(request.raw_path).strip("/").partition("/")
        if rest or request.query:
            # A form uploads to the bucket itself; moto would run another operation (?delete deletes the keys
            # the file names) under this form's signature.
            raise access_denied()
        form_environ = {**environ, "wsgi.input": io.BytesIO(request.body)}
        _, form, files = parse_form_data(form_environ)
        upload = files.get("file")
        if upload is None or len(files) != 1:
            raise invalid_argument("POST requires exactly one file upload per request.")
        names = [name.lower() for name, _ in form.items(multi=True)]
        if len(names) != len(set(names)):
            # Field names are case-insensitive: with two `key`s the policy would check one and moto store the other.
            raise invalid_argument("POST form fields must each appear once.")
        fields = {name.lower(): value for name, value in form.items()}
        file_size = len(upload.stream.read())
        verify_post_form(
            bucket, fields, file_size=file_size, credentials=self._credentials, region=self._region, now=now
        )
        if "tagging" not in fields:
            return None
        return TaggedPost(bucket, fields["key"], tags_from_tagging_xml(fields["tagging"]))

    def answer_counts(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "DELETE":
            self.counts.reset()
        body = json.dumps(self.counts.snapshot()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def refuse(error: S3Error, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = uuid.uuid4().hex[:16].upper()
        body = b"" if environ["REQUEST_METHOD"] == "HEAD" else error_document(error, request_id)
        start_response(
            f"{error.status} {HTTPStatus(error.status).phrase}",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("x-amz-request-id", request_id)],
        )
        return [body]


class VerifyingMotoServer:
    """moto in server mode on host:port, in a thread, with the verifying S3 front (ThreadedMotoServer's shape)."""

    def __init__(self, host: str, port: int, credentials: Mapping[str, str], region: str) -> None:
        app = VerifyingS3Front(DomainDispatcherApplication(create_backend_app), credentials, region)
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
