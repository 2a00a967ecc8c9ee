"""Fixtures of the upload service's tests: settings, moto-backed resources and API Gateway proxy events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from imgplat_common.settings import load_settings
from imgplat_upload import store
from moto import mock_aws

from local.lambda_runtime import LambdaContext
from local.serverless_files import param_default

OWNER_SUB = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
TABLE_NAME = "imgplat-upload-test-images"
BUCKET_NAME = "imgplat-upload-test-originals-123456789012"


@dataclass(frozen=True)
class Platform:
    """The moto resources the upload service writes to."""

    table_name: str
    bucket: str
    kms_key_arn: str


@pytest.fixture(scope="session")
def max_upload_bytes() -> int:
    """The size cap as serverless.yml declares it (the maxUploadBytes param): the only place it is written."""
    return int(param_default("upload", "maxUploadBytes"))


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch, max_upload_bytes: int) -> Iterator[Platform]:
    """A key, bucket and table in moto, and the function's environment pointing at them."""
    with mock_aws():
        kms_key_arn = boto3.client("kms").create_key(Description="platform key")["KeyMetadata"]["Arn"]
        boto3.client("s3").create_bucket(Bucket=BUCKET_NAME)
        boto3.client("dynamodb").create_table(
            TableName=TABLE_NAME,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "owner", "AttributeType": "S"},
                {"AttributeName": "image_id", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "image_id", "KeyType": "RANGE"},
            ],
        )
        monkeypatch.setenv("IMAGES_TABLE", TABLE_NAME)
        monkeypatch.setenv("ORIGINALS_BUCKET", BUCKET_NAME)
        monkeypatch.setenv("KMS_KEY_ARN", kms_key_arn)
        monkeypatch.setenv("MAX_UPLOAD_BYTES", str(max_upload_bytes))
        _forget_container_state()
        yield Platform(table_name=TABLE_NAME, bucket=BUCKET_NAME, kms_key_arn=kms_key_arn)
    _forget_container_state()


def _forget_container_state() -> None:
    load_settings.cache_clear()
    store.s3_client.cache_clear()
    store.dynamodb_client.cache_clear()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext(function_name="imgplat-upload-test-create_upload", memory_limit_in_mb=512)


@pytest.fixture
def upload_event() -> Callable[..., dict[str, Any]]:
    """An API Gateway REST proxy event for POST /upload, as the Cognito authorizer passes it on."""

    def build(body: Any, *, sub: str | None = OWNER_SUB, raw_body: str | None = None) -> dict[str, Any]:
        authorizer = {"claims": {"sub": sub, "email": "ada@example.com", "token_use": "id"}} if sub else None
        return {
            "resource": "/upload",
            "path": "/upload",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json", "Origin": "https://app.example.com"},
            "multiValueHeaders": {"Content-Type": ["application/json"], "Origin": ["https://app.example.com"]},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/upload",
                "httpMethod": "POST",
                "path": "/dev/upload",
                "stage": "dev",
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                "accountId": "123456789012",
                "apiId": "abcdef1234",
                "identity": {"sourceIp": "198.51.100.7", "userAgent": "pytest"},
                "authorizer": authorizer,
            },
            "body": raw_body if raw_body is not None else json.dumps(body),
            "isBase64Encoded": False,
        }

    return build


@pytest.fixture
def owner_sub() -> str:
    """The Cognito sub of the signed-in caller in `upload_event`."""
    return OWNER_SUB
