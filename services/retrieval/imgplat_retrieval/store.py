"""The retrieval service's only AWS code: the images table, the originals bucket, the renditions bucket, the
signing of rendition URLs (S3 pre-signed, or CloudFront signed with the delivery service's key pair), and the
events bus (ImageDeleted).

Clients are made once per container, on first use (the events client on the first publish: only delete_image
publishes). botocore errors become the exceptions below, so the logic
modules never see AWS error codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.signers import CloudFrontSigner
from imgplat_common import object_deletion
from imgplat_common.aws_errors import error_code, is_conditional_check_failure
from imgplat_common.item_table import ItemTable
from imgplat_common.models import ImageRecord
from imgplat_common.settings import load_settings
from imgplat_common.snapstart import renew_after_restore

from imgplat_retrieval.rendition_urls import UrlIssuer, url_lifetime
from imgplat_retrieval.settings import RetrievalSettings

if TYPE_CHECKING:
    from imgplat_common.image_events import ImageEvent


class StoreError(RuntimeError):
    """AWS refused or failed an operation; the caller sees a 500 with an error id, the log has the details."""


class RetrievalStore:
    """Reads and deletes image records and objects and publishes ImageDeleted (rendition URLs: rendition_signer())."""

    def __init__(self, table: Any, s3: Any, events: Callable[[], Any], settings: RetrievalSettings) -> None:
        """`events` gives the EventBridge client when an event is first published."""
        self._table = table
        self._s3 = s3
        self._events = events
        self._originals_bucket = settings.originals_bucket
        self._renditions_bucket = settings.renditions_bucket
        self._event_bus_name = settings.event_bus_name

    def get_image(self, owner: str, image_id: str) -> ImageRecord | None:
        """The owner's record of this image, or None when the owner has no such image."""
        try:
            item = self._table.get_item(Key={"owner": owner, "image_id": image_id}, ConsistentRead=True).get("Item")
        except ClientError as error:
            raise StoreError(f"reading image {image_id} failed: {_code(error)}") from error
        return ImageRecord.from_item(item) if item else None

    def list_images(self, owner: str, limit: int, after_image_id: str | None) -> tuple[list[ImageRecord], str | None]:
        """Up to `limit` of the owner's records, newest first, and the image id to continue after (None at the end)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": owner},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after_image_id:
            # The partition is always the caller's: a cursor only says where to resume inside it.
            query["ExclusiveStartKey"] = {"owner": owner, "image_id": after_image_id}
        try:
            page = self._table.query(**query)
        except ClientError as error:
            raise StoreError(f"listing images failed: {_code(error)}") from error
        records = [ImageRecord.from_item(item) for item in page.get("Items", [])]
        last_key = page.get("LastEvaluatedKey")
        return records, (str(last_key["image_id"]) if last_key else None)

    def delete_original(self, key: str) -> None:
        """Delete the uploaded original (S3 answers success when it is already gone)."""
        try:
            self._s3.delete_object(Bucket=self._originals_bucket, Key=key)
        except ClientError as error:
            raise StoreError(f"deleting original {key} failed: {_code(error)}") from error

    def delete_renditions(self, prefix: str) -> int:
        """Delete every rendition object under `prefix`; the number deleted."""
        try:
            return object_deletion.delete_prefix(self._s3, self._renditions_bucket, prefix)
        except object_deletion.ObjectsNotDeleted as error:
            raise StoreError(f"deleting renditions under {prefix} failed: {error}") from error
        except ClientError as error:
            raise StoreError(f"deleting renditions under {prefix} failed: {_code(error)}") from error

    def delete_image_record(self, owner: str, image_id: str) -> bool:
        """Delete the record if it still exists; False when it was already gone (e.g. a concurrent delete)."""
        try:
            self._table.delete_item(
                Key={"owner": owner, "image_id": image_id},
                ConditionExpression="attribute_exists(image_id)",
            )
        except ClientError as error:
            if is_conditional_check_failure(error):
                return False
            raise StoreError(f"deleting image record {image_id} failed: {_code(error)}") from error
        return True

    def publish_event(self, event: ImageEvent) -> None:
        """Put `event` on the platform's bus; StoreError when EventBridge refused or failed it."""
        # Imported here: the event models weigh on a cold start, and only delete_image's function publishes.
        from imgplat_common import image_events

        try:
            image_events.put_event(self._events(), self._event_bus_name, event)
        except image_events.EventNotPublished as error:
            raise StoreError(str(error)) from error
        except ClientError as error:
            raise StoreError(f"publishing {event.detail_type} failed: {_code(error)}") from error


class S3RenditionSigner:
    """Pre-signed S3 GETs of rendition objects (renditions bucket only: originals are never served), signed with
    this function's role: the platform without the delivery service."""

    def __init__(self, s3: Any, renditions_bucket: str) -> None:
        self._s3 = s3
        self._renditions_bucket = renditions_bucket

    def rendition_url(self, key: str, content_type: str, expires_at: int) -> str:
        return str(
            self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._renditions_bucket, "Key": key, "ResponseContentType": content_type},
                ExpiresIn=max(1, expires_at - int(time.time())),
            )
        )


class CloudFrontRenditionSigner:
    """CloudFront signed URLs (canned policy) of rendition objects, signed with the private key of the delivery
    service's key group. The URL names only the path and the expiry, so one (key, expiry) is always one URL."""

    def __init__(self, base_url: str, key_pair_id: str, private_key_pem: bytes) -> None:
        # Imported here: cryptography weighs on every cold start, and only a stage delivering through the CDN signs.
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise StoreError("the CloudFront signing key must be an RSA private key (PEM)")
        self._private_key = key
        self._base_url = base_url.rstrip("/")
        self._signer = CloudFrontSigner(key_pair_id, self._sign)

    def _sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        # What CloudFront verifies: RSA with SHA-1 and PKCS#1 v1.5 padding over the policy.
        return self._private_key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's scheme

    def rendition_url(self, key: str, content_type: str, expires_at: int) -> str:
        # The object already carries its content type (processing stores it), so the URL needs no override.
        url = f"{self._base_url}/{quote(key)}"
        return str(self._signer.generate_presigned_url(url, date_less_than=datetime.fromtimestamp(expires_at, UTC)))


def _code(error: ClientError) -> str:
    return error_code(error) or "Unknown"


@cache
def retrieval_store() -> RetrievalStore:
    """The store of this container, built on first use (tests call retrieval_store.cache_clear())."""
    settings = load_settings(RetrievalSettings)
    table = ItemTable(_dynamodb_client(), settings.images_table)
    return RetrievalStore(table=table, s3=_s3_client(), events=_events_client, settings=settings)


@cache
def _dynamodb_client() -> Any:
    return boto3.client("dynamodb")


@cache
def _events_client() -> Any:
    return boto3.client("events")


@cache
def _s3_client() -> Any:
    # SigV4 is what S3 accepts for SSE-KMS objects; boto3 may otherwise pick SigV2 for some endpoints.
    return boto3.client("s3", config=Config(signature_version="s3v4"))


@cache
def rendition_signer() -> S3RenditionSigner | CloudFrontRenditionSigner:
    """The signer of this container: CloudFront's when the delivery service is wired in, else S3 pre-signing. The
    private key is read from SSM Parameter Store (SecureString) once per container."""
    settings = load_settings(RetrievalSettings)
    if not settings.delivers_through_cdn:
        return S3RenditionSigner(_s3_client(), settings.renditions_bucket)
    base_url, key_pair_id, key_parameter = (
        settings.cdn_base_url,
        settings.cdn_key_pair_id,
        settings.cdn_private_key_parameter,
    )
    if not (base_url and key_pair_id and key_parameter):  # the settings model accepts all three or none
        raise StoreError("the CloudFront settings are incomplete")
    try:
        parameter = boto3.client("ssm").get_parameter(Name=key_parameter, WithDecryption=True)
    except ClientError as error:
        raise StoreError(f"reading the CloudFront signing key failed: {_code(error)}") from error
    private_key_pem = str(parameter["Parameter"]["Value"]).encode()
    return CloudFrontRenditionSigner(base_url, key_pair_id, private_key_pem)


def url_issuer() -> UrlIssuer:
    """Signs this request's rendition URLs: this container's signer, URLs living as long as the settings say."""
    return UrlIssuer(rendition_signer(), url_lifetime(load_settings(RetrievalSettings)), now=int(time.time()))


# With SnapStart each restored environment makes its own clients (imgplat_common/snapstart.py).
renew_after_restore(retrieval_store, _dynamodb_client, _s3_client, _events_client, rendition_signer)
