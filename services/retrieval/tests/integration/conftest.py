"""A moto AWS with the images table and both buckets, and a caller that sends real API Gateway proxy events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from imgplat_common.models import ImageRecord
from imgplat_common.settings import load_settings
from imgplat_retrieval.store import rendition_signer, retrieval_store
from moto import mock_aws

from local.lambda_runtime import LambdaContext

TABLE = "test-images"
ORIGINALS_BUCKET = "test-originals"
RENDITIONS_BUCKET = "test-renditions"


@dataclass
class Platform:
    """The AWS resources the retrieval service reads, and ways to fill them as upload and processing would."""

    s3: Any
    table: Any

    def save(self, record: ImageRecord, with_objects: bool = True) -> ImageRecord:
        """Write the record, and (with_objects) its original and rendition objects."""
        self.table.put_item(Item=record.to_item())
        if with_objects:
            self.s3.put_object(
                Bucket=ORIGINALS_BUCKET, Key=record.original_key, Body=b"original " + record.image_id.encode()
            )
            for rendition in record.renditions.values():
                for file in rendition.files.values():
                    self.s3.put_object(Bucket=RENDITIONS_BUCKET, Key=file.key, Body=rendition_bytes(file.key))
        return record

    def keys(self, bucket: str) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {entry["Key"] for page in pages for entry in page.get("Contents", [])}

    def record_exists(self, owner: str, image_id: str) -> bool:
        return "Item" in self.table.get_item(Key={"owner": owner, "image_id": image_id})


def rendition_bytes(key: str) -> bytes:
    return b"rendition bytes of " + key.encode()


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("IMAGES_TABLE", TABLE)
    monkeypatch.setenv("ORIGINALS_BUCKET", ORIGINALS_BUCKET)
    monkeypatch.setenv("RENDITIONS_BUCKET", RENDITIONS_BUCKET)
    _forget_containers_state()
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        table = dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "image_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "owner", "AttributeType": "S"},
                {"AttributeName": "image_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=ORIGINALS_BUCKET)
        s3.create_bucket(Bucket=RENDITIONS_BUCKET)
        yield Platform(s3=s3, table=table)
    _forget_containers_state()


def _forget_containers_state() -> None:
    """What a Lambda container keeps between invocations: settings, the store and the URL signer."""
    load_settings.cache_clear()
    retrieval_store.cache_clear()
    rendition_signer.cache_clear()


def api_event(
    method: str,
    resource: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    sub: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the Cognito authorizer passes it on (no claims when sub is None)."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    headers = {
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "Authorization": "Bearer header.payload.sig",
        **(headers or {}),
    }
    authorizer = {"claims": {"sub": sub, "email": f"{sub}@example.com", "token_use": "id"}} if sub else None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "authorizer": authorizer,
        },
        "body": None,
        "isBase64Encoded": False,
    }


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


CallApi = Callable[..., ApiResponse]


@pytest.fixture
def call_api() -> CallApi:
    """call_api(handler_module, method, resource, path_parameters=, query=, sub=, headers=) -> ApiResponse."""

    def call(handler_module: ModuleType, method: str, resource: str, **event_fields: Any) -> ApiResponse:
        result = handler_module.handler(
            api_event(method, resource, **event_fields), LambdaContext("imgplat-retrieval-test", memory_limit_in_mb=256)
        )
        # REST API proxy responses may carry headers in either field; multiValueHeaders is what Powertools uses.
        headers = dict(result.get("headers") or {})
        headers.update({name: values[0] for name, values in (result.get("multiValueHeaders") or {}).items()})
        return ApiResponse(status=result["statusCode"], headers=headers, body=result.get("body") or "")

    return call
