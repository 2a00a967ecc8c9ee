"""A moto user pool built from serverless.yml itself, and a caller of the real Lambda handler with proxy events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from imgplat_auth.store import identity_provider
from imgplat_common.settings import load_settings
from moto import mock_aws

from local.lambda_runtime import LambdaContext
from local.moto_gaps import cognito_gaps_filled
from local.stack import Stack


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str
    cognito: Any


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    headers: dict[str, str]
    raw_body: str

    @property
    def body(self) -> Any:
        return json.loads(self.raw_body)


def _clear_cached_settings_and_clients() -> None:
    load_settings.cache_clear()
    identity_provider.cache_clear()


@pytest.fixture
def user_pool(serverless_config, monkeypatch) -> Iterator[UserPool]:
    """The pool and app client of serverless.yml (params filled in), in moto, wired into the function's env."""
    config = serverless_config("test")
    resources = config["resources"]["Resources"]
    # CloudFormation's property names are the API's, but for the pool's name, the client's pool reference and the
    # pool's EnabledMfas (SetUserPoolMfaConfig's). The conditions (Fn::If) are evaluated as CloudFormation would.
    stack = Stack("auth", config, "us-east-1")
    pool_properties = stack.resolve(resources["UserPool"]["Properties"])
    pool_properties["PoolName"] = pool_properties.pop("UserPoolName")
    enabled_mfas = pool_properties.pop("EnabledMfas", [])
    client_properties = dict(resources["UserPoolClient"]["Properties"])
    del client_properties["UserPoolId"]
    # moto as the local platform runs it: the calls it lacks answered, TOTP codes checked (local/moto_gaps.py).
    with mock_aws(), cognito_gaps_filled():
        cognito = boto3.client("cognito-idp")
        pool_id = cognito.create_user_pool(**pool_properties)["UserPool"]["Id"]
        if "SOFTWARE_TOKEN_MFA" in enabled_mfas:
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool_id,
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=pool_properties["MfaConfiguration"],
            )
        client = cognito.create_user_pool_client(UserPoolId=pool_id, **client_properties)["UserPoolClient"]
        ids = {"USER_POOL_ID": pool_id, "USER_POOL_CLIENT_ID": client["ClientId"]}
        for name, value in (config["functions"]["api"]["environment"] | ids).items():
            monkeypatch.setenv(name, str(stack.resolve(value)))
        _clear_cached_settings_and_clients()
        yield UserPool(pool_id=pool_id, client_id=client["ClientId"], cognito=cognito)
    _clear_cached_settings_and_clients()


def api_gateway_event(path: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST `path` (a str body is sent as is, anything else as JSON)."""
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    all_headers = {"Content-Type": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    all_headers |= headers or {}
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/test{path}",
            "stage": "test",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "abc123",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "requestTimeEpoch": 1_700_000_000_000,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def call_api() -> Callable[..., ApiAnswer]:
    """POST to the real handler: call_api("/auth/signin", {...}, headers={...})."""
    from imgplat_auth.handlers.api import handler

    def call(path: str, body: Any = None, headers: dict[str, str] | None = None) -> ApiAnswer:
        response = handler(
            api_gateway_event(path, body, headers), LambdaContext("imgplat-auth-test-api", memory_limit_in_mb=256)
        )
        merged_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            merged_headers[name] = ",".join(values)
        return ApiAnswer(status=response["statusCode"], headers=merged_headers, raw_body=response["body"])

    return call


@pytest.fixture
def fake_cognito(fake_provider, monkeypatch, user_pool):
    """The handler talks to the fake provider instead of moto: for what moto cannot do (throttling, resend-code)."""
    monkeypatch.setattr("imgplat_auth.handlers.api.identity_provider", lambda: fake_provider)
    return fake_provider
