"""The REST plumbing every API service shares: one resolver shape, one error shape, CORS from settings."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from imgplat_common.errors import ApiError, BadRequest, PayloadTooLarge, error_body, new_error_id
from imgplat_common.observability import logger

# Request bodies of this API are small, flat JSON documents: anything larger or deeper is refused before parsing
# (a body nested thousands deep would otherwise exhaust the parser's recursion and answer 500).
MAX_JSON_BODY_BYTES = 16 * 1024
MAX_JSON_DEPTH = 32
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type"]
NOT_JSON_MESSAGE = "Send the body as JSON, with 'Content-Type: application/json'."

_Handler = TypeVar("_Handler", bound=Callable[..., Response[str]])


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers,
    )


def cors_config(origins: str | None = None) -> CORSConfig:
    """CORS from a comma-separated origin list (env CORS_ORIGINS, default "*")."""
    listed = [o.strip() for o in (origins or os.environ.get("CORS_ORIGINS") or "*").split(",") if o.strip()]
    return CORSConfig(
        allow_origin=listed[0],
        extra_origins=listed[1:] or None,
        allow_headers=CORS_ALLOW_HEADERS,
        max_age=600,
    )


def _too_large_message() -> str:
    return f"Request bodies are limited to {MAX_JSON_BODY_BYTES} bytes."


def json_nesting_depth(text: str) -> int:
    """How deep objects and arrays nest in `text` (brackets inside strings do not count); linear, no parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json_body(text: str) -> Any:
    """The resolver's body parser: size and nesting are checked before json.loads ever sees the text."""
    if len(text) > MAX_JSON_BODY_BYTES:
        raise PayloadTooLarge(_too_large_message(), code="body_too_large", details={"max_bytes": MAX_JSON_BODY_BYTES})
    if json_nesting_depth(text) > MAX_JSON_DEPTH:
        message = f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
        raise BadRequest(message, code="body_too_deep", details={"max_depth": MAX_JSON_DEPTH})
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise  # Powertools answers it: 400, the body is not JSON
    except ValueError as error:
        # Python refuses integers of over 4,300 digits (CVE-2020-10735); no field of ours takes one.
        problem = {"field": "body", "problem": "A number in the body has more digits than any field takes."}
        raise BadRequest("The request is not valid.", code="invalid_request", details={"fields": [problem]}) from error


def _body_too_large(app: APIGatewayRestResolver) -> Response[str] | None:
    body = app.current_event.body
    if body is not None and len(body) > MAX_JSON_BODY_BYTES:
        details = {"max_bytes": MAX_JSON_BODY_BYTES}
        return json_response(413, error_body("body_too_large", _too_large_message(), **details))
    return None


def _not_json() -> Response[str]:
    return json_response(415, error_body("unsupported_media_type", NOT_JSON_MESSAGE))


def _check_body(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    # Routes that take a JSON body refuse an oversized one in parse_json_body, before parsing; this covers the
    # routes that never parse theirs. A body declared as anything but JSON is refused before the route runs:
    # Powertools' validation (which runs first) reads a form or multipart body into fields, and browsers send
    # those cross-site without asking first (no CORS preflight), so only JSON may reach a route. A form whose
    # fields do not validate, or a malformed multipart, never gets here: _invalid_request and _value_error
    # answer it the same way.
    if app.current_event.body and _declares_other_than_json(app):
        return _not_json()
    return _body_too_large(app) or next_middleware(app)


def _declares_other_than_json(app: APIGatewayRestResolver) -> bool:
    content_type = app.current_event.headers.get("content-type") or ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return bool(content_type.strip()) and media_type != "application/json"


def _field_name(location: Any) -> str:
    return ".".join(str(part) for part in location if part != "body") or "body"


def _problem(error: dict[str, Any]) -> dict[str, str]:
    """One invalid field as the answer names it. A body that is not JSON at all is the body's problem: Powertools
    reports it at the character where parsing stopped, which is no field."""
    context = error.get("ctx") or {}
    if error.get("type") == "json_invalid":
        reason = str(context.get("error") or "").strip()
        return {"field": "body", "problem": f"Not valid JSON{': ' + reason if reason else ''}."}
    if error.get("type") in ("too_short", "too_long") and context.get("field_type") == "Value":
        # A secret string (SecretStr) is measured like a collection: pydantic would say "items after validation".
        bound = f"at least {context['min_length']}" if "min_length" in context else f"at most {context['max_length']}"
        return {"field": _field_name(error["loc"]), "problem": f"Should have {bound} characters."}
    return {"field": _field_name(error["loc"]), "problem": error["msg"]}


def _handles(app: APIGatewayRestResolver, error_type: type[Exception]) -> Callable[[_Handler], _Handler]:
    """`app.exception_handler` with its type written down.

    Powertools leaves that decorator unannotated, which would make every handler below untyped for mypy; it
    registers the handler and returns it unchanged, which is what this signature says.
    """
    register: Callable[[_Handler], _Handler] = app.exception_handler(error_type)
    return register


def build_api(cors_origins: str | None = None) -> APIGatewayRestResolver:
    """A resolver with request validation (pydantic), the platform's error mapping and CORS."""
    app = APIGatewayRestResolver(
        enable_validation=True, cors=cors_config(cors_origins), json_body_deserializer=parse_json_body
    )
    app.use(middlewares=[_check_body])

    @_handles(app, ApiError)
    def _api_error(error: ApiError) -> Response[str]:
        return json_response(int(error.status), error_body(error.code, error.message, **error.details))

    @_handles(app, RequestUnsupportedContentType)
    def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response[str]:
        # Bodies are JSON: any other declared Content-Type (text/plain, ...) is the client's error, not ours.
        return _not_json()

    @_handles(app, RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        if app.current_event.body and _declares_other_than_json(app):
            # Powertools read a form body (curl -d without a Content-Type sends one) into fields: "Field required"
            # would hide that a JSON document only lacked its header.
            return _not_json()
        # Field locations and messages only: never echo the input (it may hold a password).
        problems = [_problem(problem) for problem in error.errors()]
        return json_response(400, error_body("invalid_request", "The request is not valid.", fields=problems))

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return json_response(404, error_body("not_found", "No such route."))

    @_handles(app, Exception)
    def _unexpected(error: Exception) -> Response[str]:
        error_id = new_error_id()
        logger.exception("unhandled error", extra={"error_id": error_id})
        return json_response(500, error_body("internal_error", "Something went wrong on our side.", error_id=error_id))

    @_handles(app, ValueError)
    def _value_error(error: ValueError) -> Response[str]:
        # Powertools parses form and multipart bodies itself and raises ValueError on a malformed one (a multipart
        # type without a boundary): still the client's error. Any other ValueError is ours.
        return _not_json() if _declares_other_than_json(app) else _unexpected(error)

    return app
