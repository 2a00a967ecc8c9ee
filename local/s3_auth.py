"""What S3 checks before it stores or serves an object, as pure functions over one request's parts.

SigV4 in both of its forms (a pre-signed URL's query, or an Authorization header) and browser POST policies. Every
refusal is an S3Error carrying S3's own code, message and status, so the local S3 answers as the real one does. The
canonical request and the signature are computed by botocore's own SigV4 signer, not a copy of the algorithm.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# A pre-signed URL lives at most a week (S3's limit on X-Amz-Expires).
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600
# How far a request's clock may be from S3's before it is refused (RequestTimeTooSkewed, "not valid yet").
ALLOWED_CLOCK_SKEW = timedelta(minutes=15)
PRESIGNED_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
# Payload hashes that stand for "not a hash of the body" (unsigned or chunk-signed bodies).
PAYLOAD_PLACEHOLDER = re.compile(r"^(UNSIGNED-PAYLOAD|STREAMING-[A-Z0-9-]+)$")
# Form fields a POST policy need not mention (S3's rule: the signature, the file, the policy and x-ignore-*).
FIELDS_OUTSIDE_POLICY = {"x-amz-signature", "file", "policy"}
REQUIRED_POST_FIELDS = ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)


class S3Error(Exception):
    """A refusal in S3's words: the error code, its message and the HTTP status S3 answers with."""

    def __init__(self, code: str, message: str, status: int = HTTPStatus.FORBIDDEN) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = int(status)


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error("AccessDenied", message)


def policy_refusal(reason: str) -> S3Error:
    return access_denied(f"Invalid according to Policy: {reason}")


def query_auth_error(message: str) -> S3Error:
    """A pre-signed URL's (or a credential's) signing parameters are malformed."""
    return S3Error("AuthorizationQueryParametersError", message, HTTPStatus.BAD_REQUEST)


def invalid_argument(message: str) -> S3Error:
    return S3Error("InvalidArgument", message, HTTPStatus.BAD_REQUEST)


def invalid_policy(reason: str) -> S3Error:
    """A POST policy S3 cannot read, before any of its conditions is checked."""
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {reason}", HTTPStatus.BAD_REQUEST)


def unsupported_mechanism() -> S3Error:
    """Any signature but SigV4 (SigV2's query or header, another algorithm's name)."""
    return S3Error(
        "InvalidRequest",
        f"The authorization mechanism you have provided is not supported. Please use {ALGORITHM}.",
        HTTPStatus.BAD_REQUEST,
    )


@dataclass(frozen=True)
class S3Request:
    """One request as it arrived: `raw_path` still percent-encoded, `query` decoded pairs in order, header names
    lower-case."""

    method: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class CredentialScope:
    """`<access key>/<yyyymmdd>/<region>/<service>/aws4_request`, checked against what this S3 is."""

    access_key: str
    day: str
    region: str
    service: str

    @classmethod
    def parse(cls, credential: str, region: str) -> CredentialScope:
        try:
            access_key, day, scope_region, service, terminator = credential.split("/")
        except ValueError:
            terminator = ""
        if terminator != "aws4_request":
            raise query_auth_error("Error parsing the X-Amz-Credential parameter.")
        scope = cls(access_key, day, scope_region, service)
        if scope.service != "s3":
            raise query_auth_error(
                f"Error parsing the Credential parameter; incorrect service '{scope.service}'. This endpoint belongs "
                "to 's3'."
            )
        if scope.region != region:
            raise query_auth_error(
                f"Error parsing the Credential parameter; the region '{scope.region}' is wrong; expecting '{region}'"
            )
        return scope

    def secret(self, credentials: Mapping[str, str]) -> str:
        """The secret of this scope's access key; InvalidAccessKeyId for a key this S3 does not know."""
        if self.access_key not in credentials:
            raise S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        return credentials[self.access_key]

    def check_day(self, amz_date: str) -> None:
        if self.day != amz_date[:8]:
            raise query_auth_error("Invalid credential date. Date is not the same as X-Amz-Date.")


def parse_sigv4_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, SIGV4_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def botocore_signer(scope: CredentialScope, secret: str) -> SigV4Auth:
    return SigV4Auth(Credentials(scope.access_key, secret), scope.service, scope.region)


def sigv4_signature(
    request: S3Request,
    *,
    signed_headers: list[str],
    payload_hash: str,
    amz_date: str,
    scope: CredentialScope,
    secret: str,
    query: list[tuple[str, str]],
) -> str:
    """The signature S3 computes for `request`: botocore's canonical request over the signed headers as they
    arrived (a missing one counts as empty), the path as sent (S3 does not normalise it) and `query`."""
    signer = botocore_signer(scope, secret)
    canonical_path = quote(unquote(request.raw_path), safe="/~")
    aws_request = AWSRequest(method=request.method, url=f"http://s3{canonical_path}", params=query)
    aws_request.context["timestamp"] = amz_date
    headers = HTTPHeaders()
    for name in signed_headers:
        headers[name] = request.headers.get(name, "")
    canonical_request = "\n".join(
        (
            request.method.upper(),
            canonical_path,
            signer.canonical_query_string(aws_request) if query else "",
            signer.canonical_headers(headers) + "\n",
            signer.signed_headers(headers),
            payload_hash,
        )
    )
    return str(signer.signature(signer.string_to_sign(aws_request, canonical_request), aws_request))


def check_signature(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise S3Error("SignatureDoesNotMatch", SIGNATURE_MISMATCH)


def check_every_amz_header_signed(request: S3Request, signed_headers: list[str]) -> None:
    """S3 refuses x-amz-* headers the signature does not cover (a client could add SSE or tagging on its own)."""
    unsigned = [
        name
        for name in request.headers
        if name.startswith("x-amz-") and name != "x-amz-content-sha256" and name not in signed_headers
    ]
    if unsigned:
        raise access_denied("There were headers present in the request which were not signed")


def verify_presigned(request: S3Request, credentials: Mapping[str, str], region: str, now: datetime) -> None:
    """A query-signed (pre-signed URL) request: its parameters, its validity window and its signature."""
    params = {name: value for name, value in request.query}
    missing = [name for name in (*PRESIGNED_PARAMETERS, "X-Amz-Signature") if name not in params]
    if missing:
        raise query_auth_error(f"Query-string authentication version 4 requires the {', '.join(missing)} parameters")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise query_auth_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    scope = CredentialScope.parse(params["X-Amz-Credential"], region)
    secret = scope.secret(credentials)
    signed_at = parse_sigv4_date(params["X-Amz-Date"])
    scope.check_day(params["X-Amz-Date"])
    try:
        lifetime = int(params["X-Amz-Expires"])
    except ValueError:
        raise query_auth_error("X-Amz-Expires should be a number") from None
    if not 0 < lifetime <= MAX_PRESIGNED_SECONDS:
        raise query_auth_error(f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_SECONDS}")
    if signed_at > now + ALLOWED_CLOCK_SKEW:
        raise access_denied("Request is not valid yet")
    if now > signed_at + timedelta(seconds=lifetime):
        raise access_denied("Request has expired")
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    check_every_amz_header_signed(request, signed_headers)
    query = [(name, value) for name, value in request.query if name != "X-Amz-Signature"]
    expected = sigv4_signature(
        request,
        signed_headers=signed_headers,
        payload_hash="UNSIGNED-PAYLOAD",
        amz_date=params["X-Amz-Date"],
        scope=scope,
        secret=secret,
        query=query,
    )
    check_signature(expected, params["X-Amz-Signature"])


def parse_authorization(header: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` as its three named parts."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise unsupported_mechanism()
    parts = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if not all(parts.get(name) for name in ("Credential", "SignedHeaders", "Signature")):
        raise S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed.", 400)
    return parts


def verify_header_signed(request: S3Request, credentials: Mapping[str, str], region: str, now: datetime) -> None:
    """An Authorization-header (SDK) request: its scope, its clock, its payload hash and its signature."""
    parts = parse_authorization(request.headers["authorization"])
    try:
        scope = CredentialScope.parse(parts["Credential"], region)
    except S3Error as error:
        raise S3Error("AuthorizationHeaderMalformed", error.message, 400) from None
    secret = scope.secret(credentials)
    amz_date = request.headers.get("x-amz-date", "")
    signed_at = parse_sigv4_date(amz_date)
    scope.check_day(amz_date)
    if abs(now - signed_at) > ALLOWED_CLOCK_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )
    payload_hash = request.headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400)
    if not PAYLOAD_PLACEHOLDER.match(payload_hash) and payload_hash != hashlib.sha256(request.body).hexdigest():
        raise S3Error(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
        )
    signed_headers = parts["SignedHeaders"].split(";")
    check_every_amz_header_signed(request, signed_headers)
    expected = sigv4_signature(
        request,
        signed_headers=signed_headers,
        payload_hash=payload_hash,
        amz_date=amz_date,
        scope=scope,
        secret=secret,
        query=request.query,
    )
    check_signature(expected, parts["Signature"])


# --- browser POST uploads -------------------------------------------------------------------------------------------


def decode_policy(policy_base64: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(policy_base64, validate=True))
    except (binascii.Error, ValueError):
        raise invalid_policy("Invalid JSON.") from None
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions"), list) or "expiration" not in policy:
        raise invalid_policy("Policy missing expiration or conditions.")
    return policy


def policy_expiration(policy: Mapping[str, Any]) -> datetime:
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except ValueError:
        raise invalid_policy("Invalid 'expiration' value.") from None
    return expiration if expiration.tzinfo else expiration.replace(tzinfo=UTC)


def condition_text(condition: Any) -> str:
    """A condition as S3 quotes it in its refusal."""
    if isinstance(condition, dict):
        name, value = next(iter(condition.items()))
        return json.dumps(["eq", f"${name}", value])
    return json.dumps(condition)


def normalized_condition(condition: Any) -> tuple[str, str, Any]:
    """(operator, lower-case field name, operand) for a condition in any of the policy language's three forms."""
    if isinstance(condition, dict) and len(condition) == 1:
        name, value = next(iter(condition.items()))
        return "eq", str(name).lower(), value
    if isinstance(condition, list) and condition:
        operator, *operands = condition
        operator = str(operator).lower()
        if operator == "content-length-range" and len(operands) == len(("min", "max")):
            return operator, "", tuple(operands)
        if operator in {"eq", "starts-with"} and len(operands) == len(("$field", "value")):
            field, value = operands
            if str(field).startswith("$"):
                return operator, str(field)[1:].lower(), value
    raise invalid_policy(f"Invalid Condition: {condition_text(condition)}")


def check_content_length(size: int, smallest: Any, largest: Any) -> None:
    try:
        smallest, largest = int(smallest), int(largest)
    except (TypeError, ValueError):
        raise invalid_policy("Invalid content-length-range.") from None
    if size > largest:
        raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
    if size < smallest:
        raise S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", 400)


def check_policy_conditions(conditions: list[Any], fields: Mapping[str, str], file_size: int) -> None:
    """Every condition holds for the form (`fields` lower-case names, the bucket among them), and every form field
    the policy must cover is covered (S3: "Extra input fields")."""
    covered = set()
    for condition in conditions:
        operator, name, operand = normalized_condition(condition)
        if operator == "content-length-range":
            check_content_length(file_size, *operand)
            continue
        covered.add(name)
        value = fields.get(name)
        # starts-with "" allows anything, even an absent field; eq needs the field with exactly this value.
        holds = (
            value is not None and value == str(operand)
            if operator == "eq"
            else (str(operand) == "" or (value is not None and value.startswith(str(operand))))
        )
        if not holds:
            raise policy_refusal(f"Policy Condition failed: {condition_text(condition)}")
    extra = sorted(
        name
        for name in fields
        if name not in covered
        and name not in FIELDS_OUTSIDE_POLICY
        and name != "bucket"
        and not name.startswith("x-ignore-")
    )
    if extra:
        raise policy_refusal(f"Extra input fields: {', '.join(extra)}")


def verify_post_form(
    bucket: str,
    fields: Mapping[str, str],
    *,
    file_size: int,
    credentials: Mapping[str, str],
    region: str,
    now: datetime,
) -> None:
    """A browser POST upload: the required fields, the policy's signature, its expiration and every condition.

    `fields` are the form's text fields with lower-case names (the file's own part excluded)."""
    if not any(name in fields for name in REQUIRED_POST_FIELDS):
        raise access_denied()  # no signature at all: an anonymous write
    for name in (*REQUIRED_POST_FIELDS, "key"):
        if name not in fields:
            raise invalid_argument(
                f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of "
                "the fields."
            )
    if fields["x-amz-algorithm"] != ALGORITHM:
        raise invalid_argument(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    scope = CredentialScope.parse(fields["x-amz-credential"], region)
    secret = scope.secret(credentials)
    scope.check_day(fields["x-amz-date"])
    signer = botocore_signer(scope, secret)
    signing_request = AWSRequest()
    signing_request.context["timestamp"] = fields["x-amz-date"]
    check_signature(str(signer.signature(fields["policy"], signing_request)), fields["x-amz-signature"])
    policy = decode_policy(fields["policy"])
    if now > policy_expiration(policy):
        raise policy_refusal("Policy expired.")
    check_policy_conditions(policy["conditions"], {**fields, "bucket": bucket}, file_size)
