"""Deleting S3 objects in batches: by key, or everything below a prefix (processing's clean-ups, retrieval's delete).

Takes a boto3 S3 client; AWS errors (botocore's ClientError) reach the caller as they are, for its store to translate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The most keys one DeleteObjects call accepts (and the most one ListObjectsV2 page returns).
DELETE_BATCH_SIZE = 1000


class ObjectsNotDeleted(RuntimeError):
    """S3 answered a batch delete but refused some of its keys (the first refusal is in the message)."""

    def __init__(self, bucket: str, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        super().__init__(f"deleting objects in s3://{bucket}: {first.get('Code')} on {len(errors)} keys")
        self.bucket = bucket
        self.errors = errors


def delete_keys(s3: Any, bucket: str, keys: Iterable[str]) -> int:
    """Delete these objects (keys that do not exist are fine); the number of keys asked for."""
    pending = list(keys)
    for start in range(0, len(pending), DELETE_BATCH_SIZE):
        batch = [{"Key": key} for key in pending[start : start + DELETE_BATCH_SIZE]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            raise ObjectsNotDeleted(bucket, list(answer["Errors"]))
    return len(pending)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object below `prefix`, a listed page at a time; the number deleted."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": DELETE_BATCH_SIZE}
    )
    return sum(delete_keys(s3, bucket, [entry["Key"] for entry in page.get("Contents", [])]) for page in pages)
