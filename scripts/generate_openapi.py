"""Generate docs/openapi.yaml, the OpenAPI 3.1 description of every route, from the services' own resolvers.

    python scripts/generate_openapi.py           # (re)write docs/openapi.yaml
    python scripts/generate_openapi.py --check   # exit 1 if the committed file differs from the code

Paths, parameters and request bodies come from each API's Powertools resolver (the validation it really does);
which routes need the ID token comes from the `authorizer` of each `http` event in the services' serverless.yml.
Response bodies are the JSON the handlers build by hand, so they are described here by the models below; the
schemathesis run (tests/e2e/test_openapi_conformance.py) checks every answer of the local platform against them.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from imgplat_common.status import ImageStatus
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local.serverless_files import serverless_config  # noqa: E402 - after the repo root is importable

SPEC_PATH = ROOT / "docs" / "openapi.yaml"
API_VERSION = "1.0.0"
# The handler modules of every API service; each exposes its Powertools resolver as `app`.
API_MODULES = {
    "auth": ["imgplat_auth.handlers.api"],
    "upload": ["imgplat_upload.handlers.create_upload"],
    "retrieval": [
        "imgplat_retrieval.handlers.get_image",
        "imgplat_retrieval.handlers.list_images",
        "imgplat_retrieval.handlers.delete_image",
    ],
}
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


# ---- Response bodies (what the handlers answer) ----------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Answer):
    """What went wrong: a stable code to branch on, a message to show, and details that depend on the code."""

    code: str = Field(description="Stable, machine-readable: invalid_request, not_found, not_ready, too_large, ...")
    message: str = Field(description="Human-readable; safe to show to the user.")
    error_id: str | None = Field(default=None, description="On internal errors: quote it to support.")
    fields: list[dict[str, str]] | None = Field(default=None, description="invalid_request: each {field, problem}.")
    allowed: list[str] | None = Field(default=None, description="The values that would have been accepted.")


class Error(BaseModel):
    """The one error shape of every route: {"error": {"code", "message", ...}}."""

    error: ErrorDetail


class Message(_Answer):
    message: str


class SignedIn(BaseModel):
    id_token: str = Field(description="Send as 'Authorization: Bearer <id_token>' on every non-auth route.")
    access_token: str = Field(description="For /auth/signout.")
    refresh_token: str = Field(description="For /auth/refresh.")
    expires_in: int = Field(description="Seconds until the ID and access tokens expire.")
    token_type: str
    send_as: str


class Refreshed(BaseModel):
    id_token: str
    access_token: str
    expires_in: int
    token_type: str


class PresignedPostForm(BaseModel):
    """POST multipart/form-data to `url` with every field of `fields` first, then the file as `file`."""

    method: str
    url: str
    fields: dict[str, str]


class PresignedPut(BaseModel):
    """PUT the bytes to `url` with exactly these headers."""

    method: str
    url: str
    headers: dict[str, str]


class UploadTicket(BaseModel):
    image_id: str
    status: ImageStatus
    expires_in: int = Field(description="Seconds the upload forms stay valid.")
    max_bytes: int
    upload: PresignedPostForm
    put: PresignedPut
    status_url: str


class ExifSummary(BaseModel):
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    taken_at: str | None = None


class ImageMetadata(BaseModel):
    width: int | None
    height: int | None
    format: str | None
    bytes: int | None
    sha256: str | None
    exif: ExifSummary | None
    placeholder: str | None = Field(description="Blurhash of the image, to draw while a rendition loads.")
    dominant_color: str | None = Field(description="#rrggbb")
    processing_ms: int | None


class RenditionFormatSize(BaseModel):
    bytes: int


class RenditionSummary(BaseModel):
    width: int | None
    height: int | None
    formats: dict[str, RenditionFormatSize]


class ImageView(BaseModel):
    """An image as its owner sees it; `reason` when REJECTED, `error_id` when FAILED, metadata when READY."""

    image_id: str
    status: ImageStatus
    created_at: str
    updated_at: str
    filename: str | None
    content_type: str
    reason: str | None = None
    error_id: str | None = None
    metadata: ImageMetadata | None = None
    renditions: dict[str, RenditionSummary] | None = None


class RenditionLink(BaseModel):
    image_id: str
    size: str
    format: str
    url: str = Field(description="Short-lived pre-signed GET of the rendition.")
    expires_in: int
    width: int
    height: int
    bytes: int
    metadata: ImageMetadata


class ImageSummary(BaseModel):
    image_id: str
    status: ImageStatus
    created_at: str
    filename: str | None
    width: int | None
    height: int | None
    placeholder: str | None
    dominant_color: str | None


class ImagePage(BaseModel):
    items: list[ImageSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


# ---- What each route answers -------------------------------------------------------------------------------------

Responses = dict[int, tuple[str, type[BaseModel] | None]]
INVALID = (400, ("The request is not valid (code invalid_request, with `fields`), or the input was refused.", Error))
SIGNED_OUT = (401, ("No valid ID token (code unauthorized).", Error))
TOO_MANY = (429, ("Too many attempts; wait and try again.", Error))
UNAVAILABLE = (503, ("A dependency could not do its part right now; try again later.", Error))
ROUTE_RESPONSES: dict[tuple[str, str], Responses] = {
    ("post", "/auth/signup"): {
        202: ("Accepted, whether or not the address is registered.", Message),
        **dict([INVALID, TOO_MANY, UNAVAILABLE]),
    },
    ("post", "/auth/verify"): {
        200: ("Account verified.", Message),
        **dict([INVALID, TOO_MANY]),
        409: ("The account is already verified (already_confirmed).", Error),
    },
    ("post", "/auth/resend-code"): {
        202: ("Always the same answer.", Message),
        **dict([INVALID, TOO_MANY, UNAVAILABLE]),
    },
    ("post", "/auth/signin"): {
        200: ("Signed in.", SignedIn),
        **dict([INVALID, TOO_MANY]),
        401: ("Incorrect email or password (invalid_credentials).", Error),
        403: ("The account is not verified yet, or needs a password reset.", Error),
    },
    ("post", "/auth/refresh"): {
        200: ("New ID and access tokens.", Refreshed),
        **dict([INVALID, TOO_MANY]),
        401: ("The refresh token is not valid, expired or revoked.", Error),
    },
    ("post", "/auth/signout"): {
        200: ("Every token of the user is revoked.", Message),
        **dict([INVALID, TOO_MANY]),
        401: ("The access token is missing, not valid or already signed out.", Error),
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
        409: ("The issued image id was taken; try again.", Error),
        413: ("The declared size is above the limit (too_large, with max_bytes).", Error),
        415: ("The content type is not an allowed image type (with `allowed`).", Error),
    },
    ("get", "/image/{image_id}"): {
        200: ("Without `size`: the image's status and metadata. With `size`: a link to that rendition.", None),
        302: ("With `redirect=true`: a redirect to the rendition's short-lived URL.", None),
        **dict([INVALID, SIGNED_OUT]),
        404: ("No such image (also for another user's image).", Error),
        409: ("The image has no renditions (not_ready), with its status and reason.", Error),
    },
    ("get", "/images"): {200: ("One page of your images, newest first.", ImagePage), **dict([INVALID, SIGNED_OUT])},
    ("delete", "/image/{image_id}"): {
        204: ("The original, every rendition and the record are gone.", None),
        **dict([INVALID, SIGNED_OUT]),
        404: ("No such image (also for another user's image).", Error),
    },
}
INTERNAL_ERROR = ("Something went wrong on our side (internal_error, with an error_id to quote).", Error)
NOT_JSON = ("The body was not sent as application/json (unsupported_media_type).", Error)


def _import_resolver_documents(service: str) -> list[dict[str, Any]]:
    path = str(ROOT / "services" / service)
    if path not in sys.path:
        sys.path.insert(0, path)
    documents = []
    for module_name in API_MODULES[service]:
        app = importlib.import_module(module_name).app
        documents.append(app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True))
    return documents


def template(path: str) -> str:
    """A path with its parameter names erased, to compare routes across naming styles: /image/{} ."""
    return re.sub(r"\{[^}]+\}", "{}", "/" + path.strip("/"))


def gateway_routes() -> dict[tuple[str, str], bool]:
    """Every `http` event of the API services' serverless.yml: (method, path template) -> needs the ID token."""
    routes = {}
    for service in API_MODULES:
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
    components[model.__name__] = schema
    return {"$ref": COMPONENT_REF + model.__name__}


def _responses(method: str, path: str, takes_body: bool, components: dict[str, Any]) -> dict[str, Any]:
    declared = ROUTE_RESPONSES.get((method, path))
    if declared is None:
        raise LookupError(f"{method.upper()} {path} has no declared responses in {Path(__file__).name}")
    every_route = {500: INTERNAL_ERROR} | ({415: NOT_JSON} if takes_body else {})
    responses: dict[str, Any] = {}
    for status, (description, model) in sorted((every_route | declared).items()):
        answer: dict[str, Any] = {"description": description}
        if (method, path, status) == ("get", "/image/{image_id}", 200):
            options = [_response_component(ImageView, components), _response_component(RenditionLink, components)]
            answer["content"] = {"application/json": {"schema": {"anyOf": options}}}
        elif status == 302:
            answer["headers"] = {"Location": {"schema": {"type": "string"}, "description": "The rendition's URL."}}
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
    for service in API_MODULES:
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
    _response_component(Error, components)
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
