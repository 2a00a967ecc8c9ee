"""The local platform's HTTP front: API Gateway for every service's routes, plus the pages it serves itself (the
web gallery, the OpenAPI document and its docs page)."""

from __future__ import annotations

import json
import mimetypes
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import yaml

from local.api import preflight
from local.console import LOCAL_CODE_HINT, log
from local.platform import LocalPlatform
from local.serverless_files import ROOT

# Routes whose real counterpart e-mails a code; locally nothing is sent and moto accepts any code.
CODE_ROUTES = {"/auth/signup", "/auth/resend-code", "/auth/forgot-password"}
WEB_DIR = ROOT / "web"
OPENAPI_FILE = ROOT / "docs" / "openapi.yaml"
# Pages the local platform serves itself, next to the API: the web gallery (web/, as a static site would serve it),
# the OpenAPI document and its docs page.
REDIRECTS = {"/": "/web/", "/web": "/web/", "/docs": "/web/docs.html"}
# The server sets these from the bytes it actually sends and the connection it keeps.
SERVER_OWNED_HEADERS = {"content-length", "connection"}


def static_answer(path: str, query: str = "") -> dict[str, Any] | None:
    """The web page's files, /openapi.json and /docs; None for every other path (those are API routes). A redirect
    keeps the query (the page's ?api= names the API it should talk to)."""
    if path == "/openapi.json":
        spec = yaml.safe_load(OPENAPI_FILE.read_text())
        return {"statusCode": HTTPStatus.OK, "headers": {"Content-Type": "application/json"}, "body": json.dumps(spec)}
    if path in REDIRECTS:
        location = REDIRECTS[path] + (f"?{query}" if query else "")
        return {"statusCode": HTTPStatus.FOUND, "headers": {"Location": location}, "body": ""}
    if not path.startswith("/web/"):
        return None
    file = (WEB_DIR / (path.removeprefix("/web/") or "index.html")).resolve()
    # Only files inside web/: a crafted path ("/web/../services/...") must not read the rest of the repo.
    if not (file.is_relative_to(WEB_DIR) and file.is_file()):
        return {"statusCode": HTTPStatus.NOT_FOUND, "headers": {"Content-Type": "text/plain"}, "body": "Not found"}
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    headers = {"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-cache"}
    return {"statusCode": HTTPStatus.OK, "headers": headers, "body": file.read_bytes()}


def headers_to_send(response: dict[str, Any]) -> dict[str, str]:
    """A proxy response's single and multi-value headers as one set, without the ones the server writes itself."""
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    return {name: str(value) for name, value in headers.items() if name.lower() not in SERVER_OWNED_HEADERS}


def succeeded(response: dict[str, Any]) -> bool:
    return int(response.get("statusCode", HTTPStatus.INTERNAL_SERVER_ERROR)) < HTTPStatus.MULTIPLE_CHOICES


class ApiGateway(BaseHTTPRequestHandler):
    """The HTTP side of API Gateway: every request becomes a proxy event for the route's handler."""

    protocol_version = "HTTP/1.1"
    platform: ClassVar[LocalPlatform]  # set by api_handler: http.server builds one handler per request

    def _answer(self, response: dict[str, Any]) -> None:
        body = response.get("body") or ""
        payload = body.encode() if isinstance(body, str) else body
        if self.command == "HEAD":
            payload = b""
        self.send_response(int(response.get("statusCode", HTTPStatus.OK)))
        for name, value in headers_to_send(response).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line or header too long, a malformed request, a bad length) in
        JSON, like every other answer; the connection is closed after them."""
        status = HTTPStatus(code)
        body = json.dumps({"error": {"code": status.name.lower(), "message": message or status.phrase}}).encode()
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        started = time.monotonic()
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not (declared.isascii() and declared.isdigit()):  # isdigit alone takes "²", which int() refuses
            self.send_error(HTTPStatus.BAD_REQUEST, "Content-Length must be a whole number of bytes.")
            return
        length = int(declared)
        # API Gateway (no binary media types) hands text to the function: bytes that are not UTF-8 become U+FFFD.
        body = self.rfile.read(length).decode(errors="replace") if length else None
        path, _, query = self.path.partition("?")
        response = self._respond(path, query, body)
        self._answer(response)
        elapsed = (time.monotonic() - started) * 1000
        log("api", f"{self.command} {path} -> {response.get('statusCode')} ({elapsed:.0f} ms)")
        if self.command == "POST" and path in CODE_ROUTES and succeeded(response):
            log("auth", f"verification code for {path}: {LOCAL_CODE_HINT}")

    def _respond(self, path: str, query: str, body: str | None) -> dict[str, Any]:
        """The local pages for a GET of one of theirs, CORS preflights, and the routes' handlers for the rest."""
        static = static_answer(path, query) if self.command == "GET" else None
        if static is not None:
            return static
        if self.command == "OPTIONS":
            answered = preflight(self.platform.routes, path, self.headers.get("Origin"))
            if answered is not None:
                return answered
        headers = {name: value for name, value in self.headers.items()}
        return self.platform.request(self.command, self.path, headers, body)

    def __getattr__(self, name: str) -> Any:
        # Every method (GET, POST, ..., TRACE, QUERY) reaches the router, as on API Gateway: a method no route
        # serves gets API Gateway's unknown-route answer, never http.server's own 501 page.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged once, with their status and time, by _handle."""


def api_handler(platform: LocalPlatform) -> type[BaseHTTPRequestHandler]:
    """An ApiGateway request handler class serving the routes of this platform."""
    return type("ApiGateway", (ApiGateway,), {"platform": platform})
