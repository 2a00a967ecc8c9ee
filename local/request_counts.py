"""How many requests each AWS service received, by operation: what the bill counts (bench/cost.py, docs/cost.md).

Every request to the emulator is named `(service, operation)`: JSON protocols by their X-Amz-Target header
(DynamoDB, SQS, KMS, Step Functions, EventBridge), query protocols by their Action (SNS, STS), Lambda's REST API by
its path, and S3 by method, key and sub-resource, named as precisely as S3's price list needs (a PUT, COPY, POST
or LIST is priced apart from a GET or HEAD; a DELETE is free). Two places count: the emulator's WSGI front
(local/s3_front.py, which answers the counts at REQUEST_COUNTS_PATH: GET reads, DELETE resets) and
`counting_in_process`, which sees what an in-process moto answers (tests, bench/cost.py).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

from moto.backend_index import backend_url_patterns
from moto.core.botocore_stubber import BotocoreStubber

REQUEST_COUNTS_PATH = "/local/request-counts"
# What an S3 request is billed as (S3 pricing: "PUT, COPY, POST, LIST requests", "GET, SELECT, and all other
# requests"; DELETE and CANCEL requests are free).
S3_WRITE_OR_LIST = "PUT, COPY, POST, LIST"
S3_READ = "GET, SELECT and all other"
S3_FREE = "DELETE"
# Lambda's REST API: POST /2015-03-31/functions/<name>/invocations is Invoke; the rest is named by method and path.
LAMBDA_INVOKE = re.compile(r"^/[\d-]+/functions/[^/]+/invocations$")
ANY_PARAMETER = "?"
# (method, request names a key (None: either), marker, operation), first match wins; the marker is a query parameter
# or header that names a sub-resource, ANY_PARAMETER any query parameter, None nothing.
S3_RULES: list[tuple[str, bool | None, str | None, str]] = [
    ("PUT", True, "tagging", "PutObjectTagging"),
    ("PUT", True, "partNumber", "UploadPart"),
    ("PUT", True, "x-amz-copy-source", "CopyObject"),
    ("PUT", True, None, "PutObject"),
    ("PUT", False, None, "PutBucket"),  # CreateBucket or a bucket setting
    ("POST", None, "delete", "DeleteObjects"),
    ("POST", None, "uploads", "CreateMultipartUpload"),
    ("POST", None, "uploadId", "CompleteMultipartUpload"),
    ("POST", None, None, "PostObject"),  # a browser POST upload to the bucket
    ("GET", True, "tagging", "GetObjectTagging"),
    ("GET", True, None, "GetObject"),
    ("GET", False, "list-type", "ListObjectsV2"),
    ("GET", False, "versions", "ListObjectVersions"),
    ("GET", False, ANY_PARAMETER, "GetBucketConfiguration"),
    ("GET", False, None, "ListObjects"),
    ("HEAD", True, None, "HeadObject"),
    ("HEAD", False, None, "HeadBucket"),
    ("DELETE", True, "tagging", "DeleteObjectTagging"),
    ("DELETE", True, None, "DeleteObject"),
    ("DELETE", False, None, "DeleteBucket"),
]
# moto's names for services whose AWS name differs.
AWS_NAMES = {"awslambda": "lambda", "awslambda_simple": "lambda"}
# A virtual-hosted S3 request (bucket.s3.amazonaws.com) carries the key alone in its path.
S3_VIRTUAL_HOST = re.compile(r"^[^.]+\.s3[.-]")


class RequestCounts:
    """A thread-safe tally of (service, operation) -> requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._here = threading.local()

    def add(self, service: str, operation: str) -> None:
        if self.ignoring_this_thread():
            return
        with self._lock:
            self._counts[(AWS_NAMES.get(service, service), operation)] += 1

    @contextmanager
    def ignored_in_this_thread(self) -> Iterator[None]:
        """Requests this thread makes meanwhile are not counted (a benchmark's own polling); other threads' are."""
        self._here.ignoring = True
        try:
            yield
        finally:
            self._here.ignoring = False

    def ignoring_this_thread(self) -> bool:
        return bool(getattr(self._here, "ignoring", False))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{service: {operation: requests}}, sorted, JSON-ready."""
        with self._lock:
            counts = dict(self._counts)
        by_service: dict[str, dict[str, int]] = {}
        for (service, operation), count in sorted(counts.items()):
            by_service.setdefault(service, {})[operation] = count
        return by_service


# --- naming a request ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AwsRequest:
    """What names a request: its service (moto's name), method, host, path, raw query, headers (names in lower
    case) and, for a form POST, its body."""

    service: str
    method: str
    host: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def operation_name(request: AwsRequest) -> str:
    """The operation a request asks of its service."""
    service, method, path, headers = request.service, request.method.upper(), request.path, request.headers
    if target := headers.get("x-amz-target"):
        return target.rpartition(".")[2]
    parameters = dict(parse_qsl(request.query, keep_blank_values=True))
    if "Action" in parameters:
        return parameters["Action"]
    if service == "s3":
        return s3_operation(method, request.host, path, parameters, headers)
    if AWS_NAMES.get(service, service) == "lambda" and method == "POST" and LAMBDA_INVOKE.match(path):
        return "Invoke"
    if method == "POST" and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(request.body.decode(errors="replace")))
        if "Action" in form:
            return form["Action"]
    first_segment = path.strip("/").split("/")[0]
    return f"{method} /{first_segment}" if first_segment else method


def s3_operation(method: str, host: str, path: str, parameters: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """S3's operation name from method, path (path-style or virtual-hosted) and sub-resource: the first rule whose
    method, key presence and marker (a query parameter or header) match."""
    key = path.lstrip("/") if S3_VIRTUAL_HOST.match(host) else path.lstrip("/").partition("/")[2]
    for rule_method, has_key, marker, operation in S3_RULES:
        if rule_method != method or (has_key is not None and has_key != bool(key)):
            continue
        if marker is None or marker in parameters or marker in headers or (marker == ANY_PARAMETER and parameters):
            return operation
    return method


def s3_price_class(operation: str) -> str:
    """The line of S3's request price list an operation is billed on."""
    if operation in {"DeleteObject", "DeleteObjects", "DeleteBucket", "AbortMultipartUpload"}:
        return S3_FREE
    if operation.startswith(("Put", "Copy", "Post", "List", "Create", "Complete", "Upload")):
        return S3_WRITE_OR_LIST
    return S3_READ


def service_of_url(url: str) -> str | None:
    """The moto service whose endpoint pattern matches an AWS URL (as moto's own dispatch decides it)."""
    parts = urlsplit(url)
    clean_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    for service, pattern in backend_url_patterns:
        if pattern.match(clean_url):
            return service
    return None


# --- where requests are counted ----------------------------------------------------------------------------------
def header_map(headers: Iterable[tuple[str, Any]]) -> dict[str, str]:
    return {str(name).lower(): value.decode() if isinstance(value, bytes) else str(value) for name, value in headers}


def request_body(request: Any) -> bytes:
    body = getattr(request, "body", None)
    if body is None and hasattr(request, "get_data"):  # a werkzeug Request (moto's responses path)
        body = request.get_data()
    if isinstance(body, str):
        return body.encode()
    return body if isinstance(body, bytes) else b""


@contextmanager
def counting_in_process(counts: RequestCounts) -> Iterator[RequestCounts]:
    """Count every request an in-process moto answers: boto3's and `requests`' alike (both reach
    BotocoreStubber.process_request). Enter it before mock_aws starts: moto binds that method when it starts."""
    real_process_request = BotocoreStubber.process_request

    def counted(stubber: BotocoreStubber, request: Any) -> Any:
        service = service_of_url(request.url)
        if service is not None:
            parts = urlsplit(request.url)
            headers = header_map(request.headers.items())
            aws_request = AwsRequest(
                service, request.method, parts.netloc, parts.path, parts.query, headers, request_body(request)
            )
            counts.add(service, operation_name(aws_request))
        return real_process_request(stubber, request)

    with mock.patch.object(BotocoreStubber, "process_request", counted):
        yield counts


def wsgi_operation(service: str, environ: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> str:
    """The operation of a request as a WSGI server received it (`headers` with lower-case names; `body`: its bytes,
    or b"" where not read)."""
    return operation_name(
        AwsRequest(
            service,
            environ["REQUEST_METHOD"],
            str(environ.get("HTTP_HOST", "")),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
    )


def needs_body(service: str, environ: Mapping[str, Any]) -> bool:
    """Whether the operation may only be named from the body (a query protocol's Action in a form POST)."""
    return (
        AWS_NAMES.get(service, service) not in {"s3", "lambda"}
        and "HTTP_X_AMZ_TARGET" not in environ
        and str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded")
    )
