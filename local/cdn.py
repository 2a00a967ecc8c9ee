"""CloudFront in front of the renditions bucket, as the local platform plays it: `/cdn/<key>` on the API port.

A request must carry a CloudFront signed URL (canned policy: Expires, Signature, Key-Pair-Id) made with the private
key whose public key the delivery service's key group holds; an expired, altered or foreign URL is refused with 403,
as CloudFront does. Valid ones are served from the renditions bucket with the object's own Cache-Control and the
security headers of delivery's response headers policy. The key pair is made at every start and never written to
disk: the private key goes to the emulator's SSM Parameter Store, where retrieval reads it as on AWS.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CDN_PATH = "/cdn"
SIGNING_KEY_BITS = 2048
# CloudFront's URL-safe base64: '+' -> '-', '=' -> '_', '/' -> '~'.
_TO_CLOUDFRONT = str.maketrans("+=/", "-_~")
_FROM_CLOUDFRONT = str.maketrans("-_~", "+=/")
SIGNED_URL_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id")
# What delivery's ResponseHeadersPolicy adds to every answer (services/delivery/serverless.yml; a test compares them).
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Headers of the stored object that CloudFront passes on to the viewer.
PASSED_OBJECT_HEADERS = {"ContentType": "Content-Type", "CacheControl": "Cache-Control", "ETag": "ETag"}


@dataclass(frozen=True)
class SigningKeyPair:
    """A throwaway RSA key pair: the public half for delivery's key group, the private half for retrieval."""

    private_key_pem: str
    public_key_pem: str

    @classmethod
    def generate(cls) -> SigningKeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=SIGNING_KEY_BITS)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private.decode(), public.decode())


def canned_policy(resource_url: str, expires: int) -> str:
    """The policy a canned-policy signature covers, byte for byte as CloudFront builds it (no whitespace)."""
    statement = {"Resource": resource_url, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":"))


def cloudfront_base64(data: bytes) -> str:
    return base64.b64encode(data).decode().translate(_TO_CLOUDFRONT)


class SignedUrlRefused(Exception):
    """Why CloudFront would answer 403 to this URL."""


def verify_signed_url(resource_url: str, query: str, public_key_pem: str, key_pair_id: str, now: float) -> None:
    """Raises SignedUrlRefused unless `query` signs `resource_url` (the URL without its query) with the key pair's
    private key, names that key pair, and has not expired."""
    parameters = dict(parse_qsl(query, keep_blank_values=True))
    if not all(parameters.get(name) for name in SIGNED_URL_PARAMETERS):
        raise SignedUrlRefused("missing signed URL parameters")
    if parameters["Key-Pair-Id"] != key_pair_id:
        raise SignedUrlRefused("unknown key pair")
    try:
        expires = int(parameters["Expires"])
        signature = base64.b64decode(parameters["Signature"].translate(_FROM_CLOUDFRONT), validate=True)
    except (ValueError, binascii.Error) as error:
        raise SignedUrlRefused("malformed Expires or Signature") from error
    public_key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SignedUrlRefused("the key group's key is not RSA")
    policy = canned_policy(resource_url, expires).encode()
    try:
        public_key.verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's scheme
    except InvalidSignature as error:
        raise SignedUrlRefused("signature does not match") from error
    if now >= expires:
        raise SignedUrlRefused("expired")


class LocalCdn:
    """Answers GET /cdn/<key> like the delivery service's distribution answers GET /<key>."""

    def __init__(self, s3: Any, bucket: str, base_url: str, public_key_pem: str, key_pair_id: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.base_url = base_url.rstrip("/")
        self.public_key_pem = public_key_pem
        self.key_pair_id = key_pair_id

    def answer(self, path: str, query: str, now: float) -> dict[str, Any]:
        """A proxy-style answer ({statusCode, headers, body}) to a GET of `path` (which starts with CDN_PATH)."""
        object_path = path.removeprefix(CDN_PATH)
        try:
            verify_signed_url(self.base_url + object_path, query, self.public_key_pem, self.key_pair_id, now)
        except SignedUrlRefused as refusal:
            return _refused(HTTPStatus.FORBIDDEN, f"Access denied: {refusal}.")
        try:
            stored = self.s3.get_object(Bucket=self.bucket, Key=unquote(object_path.lstrip("/")))
        except self.s3.exceptions.NoSuchKey:
            # With OAC and no s3:ListBucket, S3 answers a missing object with 403, and so does CloudFront.
            return _refused(HTTPStatus.FORBIDDEN, "Access denied.")
        headers = {header: str(stored[field]) for field, header in PASSED_OBJECT_HEADERS.items() if field in stored}
        return {"statusCode": HTTPStatus.OK, "headers": {**headers, **SECURITY_HEADERS}, "body": stored["Body"].read()}


def _refused(status: HTTPStatus, message: str) -> dict[str, Any]:
    # CloudFront's refusals are not cacheable by the browser either.
    headers = {"Content-Type": "text/plain", "Cache-Control": "no-store", **SECURITY_HEADERS}
    return {"statusCode": status, "headers": headers, "body": message}


def with_query(url: str, **parameters: str) -> str:
    """`url` with its query parameters replaced by `parameters` (tests alter signed URLs with it)."""
    base, _, query = url.partition("?")
    merged = dict(parse_qsl(query, keep_blank_values=True)) | parameters
    return f"{base}?{urlencode(merged)}"
