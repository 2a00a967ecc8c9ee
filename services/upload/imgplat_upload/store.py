"""The upload service's only AWS code: the images table and request signing for the originals bucket.

Clients are created once per container, on first use, so importing this module costs nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from imgplat_common.aws_errors import is_conditional_check_failure
from imgplat_common.item_table import ItemTable
from imgplat_common.models import ImageRecord
from imgplat_common.snapstart import renew_after_restore

from imgplat_upload.uploads import SSE_ALGORITHM, ImageAlreadyExists, PresignedPost, PutHeaders

# SigV4 always (boto3 falls back to SigV2 for custom endpoints), and the regional endpoint also in us-east-1, so
# URLs work for a bucket in any region the moment it exists (the global endpoint redirects new buckets).
S3_CONFIG = Config(signature_version="s3v4", s3={"us_east_1_regional_endpoint": "regional"})


@cache
def s3_client() -> Any:
    """The container's S3 client."""
    return boto3.client("s3", config=S3_CONFIG)


@cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client."""
    return boto3.client("dynamodb")


class DynamoImageRecords:
    """Image records in the images table (partition key `owner`, sort key `image_id`)."""

    def __init__(self, table_name: str) -> None:
        self._table = ItemTable(dynamodb_client(), table_name)

    def create(self, record: ImageRecord) -> None:
        """Store a new record; never overwrites one (ImageAlreadyExists)."""
        try:
            self._table.put_item(
                Item=record.to_item(),
                ConditionExpression="attribute_not_exists(image_id)",
            )
        except ClientError as error:
            if is_conditional_check_failure(error):
                raise ImageAlreadyExists(f"{record.owner}/{record.image_id}") from error
            raise


class OriginalsUploadSigner:
    """Pre-signs uploads into the originals bucket with this function's role (local computation, no AWS call)."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def presign_post(self, key: str, fields: dict[str, str], conditions: list[Any], expires_in: int) -> PresignedPost:
        """A POST form for exactly `key` (boto3 adds the bucket and key conditions to the policy)."""
        signed = s3_client().generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return PresignedPost(url=signed["url"], fields=signed["fields"])

    def presign_put(self, key: str, headers: PutHeaders, expires_in: int) -> str:
        """A PUT URL whose signature covers every header the client must send (boto3 signs each parameter given
        here as a header: X-Amz-SignedHeaders names them), so S3 refuses another length, type, key or tag."""
        url: str = s3_client().generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentLength": headers.content_length,
                "ContentType": headers.content_type,
                "ServerSideEncryption": SSE_ALGORITHM,
                "SSEKMSKeyId": headers.kms_key_arn,
                "Tagging": headers.tagging,
            },
            ExpiresIn=expires_in,
        )
        return url


# With SnapStart each restored environment makes its own clients (imgplat_common/snapstart.py).
renew_after_restore(s3_client, dynamodb_client)
