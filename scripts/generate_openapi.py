"""Generate docs/openapi.yaml, the OpenAPI 3.1 description of every route, from the services' own resolvers.

    python scripts/generate_openapi.py           # (re)write docs/openapi.yaml
    python scripts/generate_openapi.py --check   # exit 1 if the committed file differs from the code

Paths, parameters and request bodies come from each API's Powertools resolver (the validation it really does);
which routes need the ID token comes from the `authorizer` of each `http` event in the services' serverless.yml.
Response bodies are the models each API's logic returns (its responses.py) and the platform error body
(imgplat_common.error_models); this script only says which status of which route answers which model. The schemathesis
run (tests/e2e/test_openapi_conformance.py) checks every answer of the local platform against them.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import re
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml
from imgplat_common.error_models import ErrorBody
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local.serverless_files import api_handler_modules, serverless_config, service_dir  # noqa: E402 - after the repo root is importable

# Each API's package (services/<svc>/imgplat_<svc>) is importable from its service directory.
for _service in api_handler_modules():
    if str(service_dir(_service)) not in sys.path:
        sys.path.insert(0, str(service_dir(_service)))

from imgplat_auth.responses import (  # noqa: E402 - after the services are importable
    Message,
    MfaRequired,
    Refreshed,
    SignedIn,
    TotpSetup,
)
from imgplat_retrieval.responses import ImagePage, ImageView, RenditionLink  # noqa: E402
from imgplat_upload.responses import UploadTicket  # noqa: E402

SPEC_PATH = ROOT / "docs" / "openapi.yaml"
API_VERSION = "1.0.0"
TAGS = {
    "auth": "Accounts and tokens. No token needed; the ID token from /auth/signin is the one the other routes take.",
    "upload": "Reserve an image id and get pre-signed forms to upload the original straight to storage.",
    "retrieval": "Your images: status, metadata, short-lived rendition links, listing and deletion.",
}
SECURITY_SCHEME = "idToken"
COMPONENT_REF = "#/components/schemas/"
# Powertools' own validation answers (422) and its placeholder 200 for untyped returns: the platform answers
# validation errors with 400 and the platform error body instead.
POWERTOOLS_COMPONENTS = {"HTTPValidationError", "ValidationError", "ResponseValidationError"}


# ---- What each route answers -------------------------------------------------------------------------------------

Responses = dict[int, tuple[str, type[BaseModel] | None]]
INVALID = (
    400,
    (
        "The request is not valid (code invalid_request, with `fields`; body_too_deep for a JSON body nested deeper"
        " than its max_depth), or the input was refused.",
        ErrorBody,
    ),
)
SIGNED_OUT = (401, ("No valid ID token (code unauthorized).", ErrorBody))
TOO_MANY = (429, ("Too many attempts; wait and try again.", ErrorBody))
UNAVAILABLE = (503, ("A dependency could not do its part right now; try again later.", ErrorBody))
TOTP_ACCESS_TOKEN = (
    401,
    ("No access token (unauthorized), or one not valid or signed out (invalid_token).", ErrorBody),
)
MFA_NOT_OFFERED = (404, ("This deployment does not offer MFA (mfa_not_offered: its mfa param is off).", ErrorBody))
ROUTE_RESPONSES: dict[tuple[str, str], Responses] = {
    ("post", "/auth/signup"): {
        202: ("Accepted, whether or not the address is registered.", Message),
        **dict([INVALID, TOO_MANY, UNAVAILABLE]),
    },
    ("post", "/auth/verify"): {
        200: ("Account verified.", Message),
        **dict([INVALID, TOO_MANY]),
    },
    ("post", "/auth/resend-code"): {
        202: ("Always the same answer.", Message),
        **dict([INVALID, TOO_MANY, UNAVAILABLE]),
    },
    ("post", "/auth/signin"): {
        200: ("Signed in.", SignedIn),
        202: (
            "The password is right and the account has TOTP on: send the app's code to /auth/signin/mfa.",
            MfaRequired,
        ),
        **dict([INVALID, TOO_MANY]),
        401: ("Incorrect email or password (invalid_credentials).", ErrorBody),
        403: ("The account is not verified yet, or needs a password reset.", ErrorBody),
    },
    ("post", "/auth/signin/mfa"): {
        200: ("Signed in.", SignedIn),
        **dict([INVALID, TOO_MANY]),
        401: ("A wrong or used code (invalid_mfa_code), or a session expired or used (session_expired).", ErrorBody),
    },
    ("post", "/auth/mfa/setup"): {
        200: ("A new TOTP secret; sign-in asks for codes once /auth/mfa/verify confirmed one.", TotpSetup),
        **dict([INVALID, TOO_MANY, TOTP_ACCESS_TOKEN, MFA_NOT_OFFERED]),
    },
    ("post", "/auth/mfa/verify"): {
        200: ("The code matched: every sign-in now asks for the app's code.", Message),
        **dict([INVALID, TOO_MANY, TOTP_ACCESS_TOKEN, MFA_NOT_OFFERED]),
        409: ("No secret is being set up (mfa_not_set_up): start with /auth/mfa/setup.", ErrorBody),
    },
    ("post", "/auth/mfa/disable"): {
        200: ("Sign-in asks for the password only again.", Message),
        **dict([INVALID, TOO_MANY, TOTP_ACCESS_TOKEN, MFA_NOT_OFFERED]),
    },
    ("post", "/auth/refresh"): {
        200: ("New ID and access tokens.", Refreshed),
        **dict([INVALID, TOO_MANY]),
        401: ("The refresh token is not valid, expired or revoked.", ErrorBody),
    },
    ("post", "/auth/signout"): {
        200: ("The refresh and access tokens are revoked; an issued ID token works until it expires.", Message),
        **dict([INVALID, TOO_MANY]),
        401: ("The access token is missing, not valid or already signed out.", ErrorBody),
    },
    ("post", "/auth/forgot-password"): {
        202: ("Always the same answer.", Message),
        **dict([INVALID, TOO_MANY, UNAVAILABLE]),
    },
    ("post", "/auth/confirm-forgot-password"): {
        200: ("Password changed.", Message),
        **dict([INVALID, TOO_MANY]),
    },
    ("post", "/upload"): {
        201: ("A PENDING image and the ways to upload its original.", UploadTicket),
        **dict([INVALID, SIGNED_OUT]),
        409: ("The issued image id was taken; try again.", ErrorBody),
        413: ("The declared size (too_large) or the body (body_too_large) is over its limit.", ErrorBody),
        415: ("The content type is not an allowed image type (with `allowed`).", ErrorBody),
    },
    ("get", "/image/{image_id}"): {
        200: ("Without `size`: the image's status and metadata. With `size`: a link to that rendition.", None),
        302: ("With `redirect=true`: a redirect to the rendition's short-lived URL.", None),
        **dict([INVALID, SIGNED_OUT]),
        404: ("No such image (also for another user's image).", ErrorBody),
        409: ("The image has no renditions (not_ready), with its status and reason.", ErrorBody),
    },
    ("get", "/images"): {200: ("One page of your images, newest first.", ImagePage), **dict([INVALID, SIGNED_OUT])},
    ("delete", "/image/{image_id}"): {
        204: ("The original, every rendition and the record are gone.", None),
        **dict([INVALID, SIGNED_OUT]),
        404: ("No such image (also for another user's image).", ErrorBody),
    },
}
# GET /image/{id}'s link answers: format=auto (the default when an Accept header comes) picks by the Accept header.
VARY_ACCEPT = {
    "schema": {"type": "string", "const": "Accept"},
    "description": "Sent when the rendition's format was chosen from the Accept header (format auto or absent).",
}
INTERNAL_ERROR = ("Something went wrong on our side (internal_error, with an error_id to quote).", ErrorBody)
NOT_JSON = ("The body was not sent as application/json (unsupported_media_type).", ErrorBody)
BODY_TOO_LARGE = ("The body is larger than the API takes (body_too_large, with max_bytes).", ErrorBody)


def _import_resolver_documents(service: str) -> list[dict[str, Any]]:
    documents = []
    for module_name in api_handler_modules()[service]:
        app = importlib.import_module(module_name).app
        documents.append(app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True))
    return documents


def template(path: str) -> str:
    """A path with its parameter names erased, to compare routes across naming styles: /image/{} ."""
    return re.sub(r"\{[^}]+\}", "{}", "/" + path.strip("/"))


def gateway_routes() -> dict[tuple[str, str], bool]:
    """Every `http` event of the API services' serverless.yml: (method, path template) -> needs the ID token."""
    routes = {}
    for service in api_handler_modules():
        for function in serverless_config(service)["functions"].values():
            for event in function.get("events") or []:
                http = event.get("http")
                if http:
                    routes[(http["method"].lower(), template(http["path"]))] = bool(http.get("authorizer"))
    return routes


def _response_component(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=COMPONENT_REF + "{model}", mode="serialization")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    name = schema["title"]  # the class name, unless the model names itself (ErrorBody is "Error")
    components[name] = schema
    return {"$ref": COMPONENT_REF + name}


def _responses(method: str, path: str, takes_body: bool, components: dict[str, Any]) -> dict[str, Any]:
    declared = ROUTE_RESPONSES.get((method, path))
    if declared is None:
        raise LookupError(f"{method.upper()} {path} has no declared responses in {Path(__file__).name}")
    every_route = {500: INTERNAL_ERROR} | ({413: BODY_TOO_LARGE, 415: NOT_JSON} if takes_body else {})
    responses: dict[str, Any] = {}
    for status, (description, model) in sorted((every_route | declared).items()):
        answer: dict[str, Any] = {"description": description}
        if (method, path, status) == ("get", "/image/{image_id}", HTTPStatus.OK):
            options = [_response_component(ImageView, components), _response_component(RenditionLink, components)]
            answer["content"] = {"application/json": {"schema": {"anyOf": options}}}
            answer["headers"] = {"Vary": copy.deepcopy(VARY_ACCEPT)}
        elif status == HTTPStatus.FOUND:
            answer["headers"] = {
                "Location": {"schema": {"type": "string"}, "description": "The rendition's URL."},
                "Vary": copy.deepcopy(VARY_ACCEPT),  # a copy: yaml would write a shared object as an anchor
            }
        elif model is not None:
            answer["content"] = {"application/json": {"schema": _response_component(model, components)}}
        responses[str(status)] = answer
    return responses


def _operation(service: str, method: str, path: str, operation: dict[str, Any], components: dict[str, Any]) -> Any:
    operation = copy.deepcopy(operation)
    operation["tags"] = [service]
    operation["responses"] = _responses(method, path, "requestBody" in operation, components)
    return operation


def build_spec() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, as a plain dict."""
    gateway = gateway_routes()
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {}
    for service in api_handler_modules():
        for document in _import_resolver_documents(service):
            for name, schema in (document.get("components") or {}).get("schemas", {}).items():
                if name not in POWERTOOLS_COMPONENTS:
                    components[name] = schema
            for path, operations in document["paths"].items():
                for method, operation in operations.items():
                    merged = _operation(service, method, path, operation, components)
                    if gateway.get((method, template(path))):
                        merged["security"] = [{SECURITY_SCHEME: []}]
                    paths.setdefault(path, {})[method] = merged
    _response_component(ErrorBody, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "imgplat API",
            "version": API_VERSION,
            "description": (
                "Upload images, have them validated, resized and watermarked, fetch renditions through short-lived "
                'URLs. Every error answers {"error": {"code", "message", ...}}. Generated by '
                "scripts/generate_openapi.py; do not edit by hand."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [
            {"url": "http://127.0.0.1:3000", "description": "The local platform (make dev)"},
            {
                "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
                "description": "A deployment: each service has its own REST API (auth, upload, retrieval).",
                "variables": {
                    "restApiId": {"default": "abc123"},
                    "region": {"default": "us-east-1"},
                    "stage": {"default": "dev"},
                },
            },
        ],
        "tags": [{"name": name, "description": description} for name, description in TAGS.items()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The ID token from POST /auth/signin (not the access token).",
                }
            },
        },
    }


def spec_text(spec: dict[str, Any] | None = None) -> str:
    """The committed file's exact content."""
    header = "# Generated by scripts/generate_openapi.py from the services' resolvers: do not edit by hand.\n"
    return header + yaml.safe_dump(spec or build_spec(), sort_keys=False, allow_unicode=True, width=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report whether the committed file is stale")
    args = parser.parse_args()
    text = spec_text()
    if SPEC_PATH.exists() and SPEC_PATH.read_text() == text:
        return 0
    if args.check:
        print(f"stale: {SPEC_PATH.relative_to(ROOT)}; run: python scripts/generate_openapi.py")
        return 1
    SPEC_PATH.write_text(text)
    print(f"wrote: {SPEC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
