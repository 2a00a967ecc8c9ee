"""The retrieval service's only AWS code: the images table, the originals and renditions buckets, the events bus.

Clients are made once per container, on first use. botocore errors become the exceptions below, so the logic
modules never see AWS error codes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from imgplat_common import image_events, object_deletion
from imgplat_common.aws_errors import error_code, is_conditional_check_failure
from imgplat_common.models import ImageRecord
from imgplat_common.settings import load_settings

from imgplat_retrieval.settings import RetrievalSettings


class StoreError(RuntimeError):
    """AWS refused or failed an operation; the caller sees a 500 with an error id, the log has the details."""


class RetrievalStore:
    """Reads and deletes image records and objects, signs rendition downloads and publishes ImageDeleted."""

    def __init__(self, table: Any, s3: Any, events: Any, settings: RetrievalSettings) -> None:
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

    def rendition_url(self, key: str, content_type: str, expires_in: int) -> str:
        """A pre-signed GET of one rendition object (renditions bucket only: originals are never served)."""
        return str(
            self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._renditions_bucket, "Key": key, "ResponseContentType": content_type},
                ExpiresIn=expires_in,
            )
        )

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

    def publish_event(self, event: image_events.ImageEvent) -> None:
        """Put `event` on the platform's bus; StoreError when EventBridge refused or failed it."""
        try:
            image_events.put_event(self._events, self._event_bus_name, event)
        except image_events.EventNotPublished as error:
            raise StoreError(str(error)) from error
        except ClientError as error:
            raise StoreError(f"publishing {event.detail_type} failed: {_code(error)}") from error


def _code(error: ClientError) -> str:
    return error_code(error) or "Unknown"


@cache
def retrieval_store() -> RetrievalStore:
    """The store of this container, built on first use (tests call retrieval_store.cache_clear())."""
    settings = load_settings(RetrievalSettings)
    table = boto3.resource("dynamodb").Table(settings.images_table)
    # SigV4 is what S3 accepts for SSE-KMS objects; boto3 may otherwise pick SigV2 for some endpoints.
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    return RetrievalStore(table=table, s3=s3, events=boto3.client("events"), settings=settings)
