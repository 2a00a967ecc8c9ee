"""API Gateway's request models are the pydantic bodies, regenerated: they cannot drift, and every body route uses one.

The committed files under services/<svc>/schemas/ are compared with what scripts/generate_request_schemas.py makes
from the code right now; run that script after changing a body model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft4Validator

from local.serverless_files import api_handler_modules, serverless_config
from scripts.generate_request_schemas import DRAFT_04, RequestSchema, body_services, request_schemas, schema_dir

REQUEST_SCHEMAS = [(service, request) for service in body_services() for request in request_schemas(service).values()]
REGENERATE = "run: .venv/bin/python scripts/generate_request_schemas.py"


def _ids(value: Any) -> str:
    return value.model_name if isinstance(value, RequestSchema) else str(value)


def _http_event(config: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for function in config["functions"].values():
        for event in function.get("events") or []:
            http = event.get("http") or {}
            if http.get("method", "").upper() == method and "/" + http.get("path", "").strip("/") == path:
                return http
    raise AssertionError(f"no http event for {method} {path}")


@pytest.mark.parametrize(("service", "request_schema"), REQUEST_SCHEMAS, ids=_ids)
def test_committed_schema_is_what_the_pydantic_model_generates(service, request_schema):
    # Given the body model as the code defines it now, When its schema is regenerated in memory
    committed = schema_dir(service) / request_schema.file_name
    # Then the committed file is byte for byte the same
    assert committed.exists(), f"{committed} is missing; {REGENERATE}"
    assert committed.read_text() == request_schema.text(), f"{committed} drifted from the code; {REGENERATE}"


@pytest.mark.parametrize("service", list(api_handler_modules()))
def test_no_schema_file_is_left_over_from_a_removed_model(service):
    expected = {request.file_name for request in request_schemas(service).values()}
    assert {path.name for path in schema_dir(service).glob("*.json")} == expected


@pytest.mark.parametrize(("service", "request_schema"), REQUEST_SCHEMAS, ids=_ids)
def test_every_route_taking_the_model_has_api_gateway_validate_it(service, request_schema):
    config = serverless_config(service)
    model = config["provider"]["apiGateway"]["request"]["schemas"][request_schema.schema_id]
    assert model["name"] == request_schema.model_name
    # serverless.yml pulls the committed file in (${file(schemas/...)}), which serverless_config resolves.
    assert model["schema"] == json.loads((schema_dir(service) / request_schema.file_name).read_text())
    assert model["description"]
    for method, path in request_schema.routes:
        event = _http_event(config, method, path)
        assert event["request"]["schemas"] == {"application/json": request_schema.schema_id}, f"{method} {path}"


@pytest.mark.parametrize(("service", "request_schema"), REQUEST_SCHEMAS, ids=_ids)
def test_schemas_are_self_contained_draft_04(service, request_schema):
    schema = request_schema.schema
    Draft4Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_04
    assert schema["type"] == "object"
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"format"' not in text


def _schema(model_name: str) -> Draft4Validator:
    for _, request in REQUEST_SCHEMAS:
        if request.model_name == model_name:
            return Draft4Validator(request.schema)
    raise AssertionError(model_name)


def test_gateway_refuses_missing_fields_wrong_types_bad_lengths_and_unknown_fields():
    credentials = _schema("Credentials")
    assert credentials.is_valid({"email": "a@example.com", "password": "Secret-pass-1"})
    assert not credentials.is_valid({"email": "a@example.com"})
    assert not credentials.is_valid({"email": "a@example.com", "password": ""})
    assert not credentials.is_valid({"email": "a@example.com", "password": "x" * 257})
    assert not credentials.is_valid({"email": "a@example.com", "password": "Secret-pass-1", "pasword": "typo"})
    assert not credentials.is_valid(["not", "an", "object"])
    upload = _schema("UploadRequest")
    assert not upload.is_valid({"content_type": "image/png", "size": 0})
    assert not upload.is_valid({"content_type": "image/png", "size": "12"})


def test_gateway_is_no_stricter_than_the_function():
    # Formats are the function's to check (its error names the field); explicit nulls for optional fields pass.
    assert _schema("EmailOnly").is_valid({"email": "not-an-email"})
    assert _schema("SignOutRequest").is_valid({})  # API Gateway validates a missing body as {}
    assert _schema("SignOutRequest").is_valid({"access_token": None})
    upload = _schema("UploadRequest")
    assert upload.is_valid({"content_type": "image/png", "filename": None, "size": None})
    # Both refuse an unknown field, as the function does (its error names the field)
    assert not upload.is_valid({"content_type": "image/png", "extra": "refused"})
    assert upload.is_valid({"content_type": "image/png", "filename": "cat.png", "size": 1})


@pytest.mark.parametrize("service", body_services())
def test_a_refused_body_is_answered_in_the_platform_error_shape_with_cors(service):
    resources = serverless_config(service)["resources"]["Resources"]
    (response,) = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::ApiGateway::GatewayResponse"
        and resource["Properties"]["ResponseType"] == "BAD_REQUEST_BODY"
    ]
    template = response["ResponseTemplates"]["application/json"]
    # messageString arrives quoted and escaped; validationErrorString may hold quotes and would break the JSON.
    assert template == (
        '{"error": {"code": "invalid_request", "message": $context.error.messageString,'
        ' "request_id": "$context.requestId"}}'
    )
    assert response["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
