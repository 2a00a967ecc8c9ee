"""`python -m local`: the whole platform on this machine, in the foreground, until Ctrl-C.

moto (server mode) is AWS; every service is deployed into it from its own serverless.yml; one HTTP server plays
API Gateway for all services; warm worker processes run the real handlers; a poller feeds the SQS event sources.
"""

from __future__ import annotations

import argparse
import json
import logging
import mimetypes
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.request import Request, urlopen

import boto3
import yaml
from moto.server import ThreadedMotoServer

from local.api import TokenVerifier, preflight
from local.platform import MOTO_SETTINGS, LocalPlatform
from local.serverless_files import ROOT
from local.workers import WorkerPool

REGION = "us-east-1"
# Routes whose real counterpart e-mails a code; locally nothing is sent and moto accepts any code.
CODE_ROUTES = {"/auth/signup", "/auth/resend-code", "/auth/forgot-password"}
LOCAL_CODE_HINT = "any code works locally (no e-mail is sent), e.g. 123456"
WEB_DIR = ROOT / "web"
OPENAPI_FILE = ROOT / "docs" / "openapi.yaml"
# Pages the local platform serves itself, next to the API: the web gallery (web/, as a static site would serve it),
# the OpenAPI document and its docs page.
REDIRECTS = {"/": "/web/", "/web": "/web/", "/docs": "/web/docs.html"}


def log(component: str, message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [{component}] {message}", flush=True)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def http_json(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    with urlopen(Request(url, data=data, method="POST" if data else "GET"), timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read() or b"null")


def static_answer(path: str) -> dict[str, Any] | None:
    """The web page's files, /openapi.json and /docs; None for every other path (those are API routes)."""
    if path == "/openapi.json":
        spec = yaml.safe_load(OPENAPI_FILE.read_text())
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(spec)}
    if path in REDIRECTS:
        return {"statusCode": 302, "headers": {"Location": REDIRECTS[path]}, "body": ""}
    if not path.startswith("/web/"):
        return None
    file = (WEB_DIR / (path.removeprefix("/web/") or "index.html")).resolve()
    # Only files inside web/: a crafted path ("/web/../services/...") must not read the rest of the repo.
    if not (file.is_relative_to(WEB_DIR) and file.is_file()):
        return {"statusCode": 404, "headers": {"Content-Type": "text/plain"}, "body": "Not found"}
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    headers = {"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-cache"}
    return {"statusCode": 200, "headers": headers, "body": file.read_bytes()}


def api_handler(platform: LocalPlatform) -> type[BaseHTTPRequestHandler]:
    """The HTTP side of API Gateway: every request becomes a proxy event for the route's handler."""

    class ApiGateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, response: dict[str, Any]) -> None:
            body = response.get("body") or ""
            payload = body.encode() if isinstance(body, str) else body
            if self.command == "HEAD":
                payload = b""
            self.send_response(int(response.get("statusCode", 200)))
            headers = dict(response.get("headers") or {})
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(str(v) for v in values)
            for name, value in headers.items():
                if name.lower() not in {"content-length", "connection"}:
                    self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            # API Gateway (no binary media types) hands text to the function: bytes that are not UTF-8 become U+FFFD.
            body = self.rfile.read(length).decode(errors="replace") if length else None
            path = self.path.split("?", 1)[0]
            static = static_answer(path) if self.command == "GET" else None
            if static is not None:
                response = static
            elif self.command == "OPTIONS":
                response = preflight(platform.routes, path, self.headers.get("Origin"))
            else:
                headers = {name: value for name, value in self.headers.items()}
                response = platform.request(self.command, self.path, headers, body)
            self._answer(response)
            elapsed = (time.monotonic() - started) * 1000
            log("api", f"{self.command} {path} -> {response.get('statusCode')} ({elapsed:.0f} ms)")
            if self.command == "POST" and path in CODE_ROUTES and int(response.get("statusCode", 500)) < 300:
                log("auth", f"verification code for {path}: {LOCAL_CODE_HINT}")

        def __getattr__(self, name: str) -> Any:
            # Every method (GET, POST, ..., TRACE, QUERY) reaches the router, as on API Gateway: a method no route
            # serves gets API Gateway's 403, never http.server's own 501 page.
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are logged once, with their status and time, by _handle."""

    return ApiGateway


def poll_queues(platform: LocalPlatform, stop: threading.Event) -> None:
    """The SQS event source mappings: long-poll and deliver batches until stopped."""
    while not stop.is_set():
        try:
            delivered = platform.deliver_queue_messages(wait_seconds=1)
        except Exception as error:  # keep polling: one bad poll must not stop the pipeline
            log("queue", f"poll failed: {error}")
            stop.wait(1)
            continue
        if delivered:
            log("queue", f"delivered {delivered} message(s)")


def run_schedules(platform: LocalPlatform, stop: threading.Event) -> None:
    """EventBridge rules: invoke each scheduled function at its rate (first run one period after start)."""
    schedules = platform.schedules()
    next_run = {spec.name: time.monotonic() + period for spec, period in schedules}
    while not stop.wait(1):
        for spec, period in schedules:
            if time.monotonic() >= next_run[spec.name]:
                next_run[spec.name] = time.monotonic() + period
                result = platform.runner(spec, platform.scheduled_event(spec))
                log("schedule", f"{spec.name}: {'failed' if result.failed else 'ran'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default=os.environ.get("IMGPLAT_HOST", "127.0.0.1"))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("IMGPLAT_API_PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("IMGPLAT_AWS_PORT", "4566")))
    args = parser.parse_args(argv)

    for name, port in (("--api-port", args.api_port), ("--aws-port", args.aws_port)):
        if not port_is_free(args.host, port):
            print(f"error: port {port} on {args.host} is already in use; pick another with {name} or stop what uses it")
            return 2

    endpoint = f"http://{args.host}:{args.aws_port}"
    os.environ.update(
        {
            "MOTO_PORT": str(args.aws_port),  # Step Functions calls Lambda through this port
            "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per emulator call would drown the platform's log
    moto_server = ThreadedMotoServer(ip_address=args.host, port=args.aws_port, verbose=False)
    moto_server.start()
    http_json(f"{endpoint}/moto-api/config", MOTO_SETTINGS)
    log("aws", f"emulator (moto) listening on {endpoint}")

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    platform = LocalPlatform(client, stage="local", region=REGION)
    platform.log = lambda message: log("lambda", message)
    pool: WorkerPool | None = None
    api_server: ThreadingHTTPServer | None = None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        platform.deploy(log=lambda message: log("deploy", message))
        auth = platform.stacks["auth"].outputs
        jwks = http_json(f"{endpoint}/{auth['UserPoolId']}/.well-known/jwks.json")
        issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{auth['UserPoolId']}"
        platform.verifier = TokenVerifier(jwks, issuer, [auth["UserPoolClientId"]])

        worker_environment = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon on a laptop
        }
        pool = WorkerPool(list(platform.functions.values()), worker_environment)
        log("lambda", f"starting {len(pool.workers)} warm workers")
        pool.start()
        active_pool = pool
        platform.runner = lambda spec, event: active_pool.invoke(spec.name, event)

        with platform.emulating():
            api_server = ThreadingHTTPServer((args.host, args.api_port), api_handler(platform))
            api_server.daemon_threads = True
            threading.Thread(target=api_server.serve_forever, name="api", daemon=True).start()
            poller = threading.Thread(target=poll_queues, args=(platform, stop), name="sqs-poller", daemon=True)
            poller.start()
            threading.Thread(target=run_schedules, args=(platform, stop), name="schedules", daemon=True).start()
            api_url = f"http://{args.host}:{args.api_port}"
            print(
                f"\n  imgplat is running locally\n"
                f"    API:           {api_url}   (export API={api_url})\n"
                f"    Web page:      {api_url}/   (API docs: {api_url}/docs)\n"
                f"    AWS emulator:  {endpoint}   (moto; aws --endpoint-url {endpoint} ...)\n"
                f"    Sign-up codes: {LOCAL_CODE_HINT}\n"
                f"    Stop:          Ctrl-C\n",
                flush=True,
            )
            while not stop.is_set():
                stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        log("local", "stopping")
        if api_server is not None:
            api_server.shutdown()
            api_server.server_close()
        if pool is not None:
            pool.close()
        moto_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
