"""API Gateway emulation: route `http` events to handlers with proxy events, and the Cognito authorizer."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlsplit

import jwt

from local.lambdas import FunctionSpec

if TYPE_CHECKING:
    from local.platform import LocalPlatform


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "/image/{id}"
    function: FunctionSpec
    authorized: bool
    pattern: re.Pattern[str]
    cors: dict[str, Any] | None = None

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method and self.method != "ANY":
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def routes_of(functions: list[FunctionSpec]) -> list[Route]:
    routes = []
    for spec in functions:
        for event in spec.events:
            http = event.get("http")
            if not http:
                continue
            path = "/" + http["path"].strip("/")
            pattern = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)))
            cors = http.get("cors")
            cors = {"origin": "*"} if cors is True else cors or None
            routes.append(Route(http["method"].upper(), path, spec, bool(http.get("authorizer")), pattern, cors))
    return routes


class TokenVerifier:
    """Verifies Cognito ID tokens as API Gateway's Cognito authorizer does: signature, issuer, audience, use, expiry."""

    def __init__(self, jwks: dict[str, Any], issuer: str, audiences: list[str]) -> None:
        self.keys = {key["kid"]: jwt.PyJWK(key) for key in jwks["keys"]}
        self.issuer = issuer
        self.audiences = audiences

    def claims(self, authorization: str | None) -> dict[str, Any] | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.get(header.get("kid", ""))
            if key is None or header.get("alg") != "RS256":
                return None
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.audiences,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "token_use"]},
            )
        except jwt.PyJWTError:
            return None
        return claims if claims.get("token_use") == "id" else None


def proxy_event(
    route: Route,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: str | None,
    path_parameters: dict[str, str],
    claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as the real integration sends it."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    request_id = str(uuid.uuid4())
    authorizer = (
        {"claims": {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}} if claims else None
    )
    return {
        "resource": route.path,
        "path": parts.path,
        "httpMethod": method.upper(),
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method.upper(),
            "path": f"/local{parts.path}",
            "stage": "local",
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "authorizer": authorizer,
        },
        "body": body,
        "isBase64Encoded": False,
    }


# The header API Gateway answers every request with: the request's id, also in the access log.
REQUEST_ID_HEADER = "x-amzn-RequestId"


def gateway_response(
    configs: list[dict[str, Any]],
    response_type: str,
    status: int,
    message: str,
    origin: str | None,
    *,
    request_id: str = "",
) -> dict[str, Any]:
    """Render the first matching GatewayResponse (the type itself, then DEFAULT_4XX/5XX) of the given services.

    Without one, API Gateway's own default body {"message": ...} is used, as on AWS.
    """
    fallback = "DEFAULT_5XX" if status >= HTTPStatus.INTERNAL_SERVER_ERROR else "DEFAULT_4XX"
    for wanted in (response_type, fallback):
        for config in configs:
            for resource in ((config.get("resources") or {}).get("Resources") or {}).values():
                properties = resource.get("Properties") or {}
                if (
                    resource.get("Type") != "AWS::ApiGateway::GatewayResponse"
                    or properties.get("ResponseType") != wanted
                ):
                    continue
                template = (properties.get("ResponseTemplates") or {}).get("application/json", "")
                body = template.replace("$context.error.messageString", json.dumps(message))
                body = body.replace("$context.error.validationErrorString", message)
                body = body.replace("$context.requestId", request_id)
                return {
                    "statusCode": int(properties.get("StatusCode") or status),
                    "headers": {
                        "Content-Type": "application/json",
                        "Access-Control-Allow-Origin": origin or "*",
                        REQUEST_ID_HEADER: request_id,
                    },
                    "body": body,
                }
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", REQUEST_ID_HEADER: request_id},
        "body": json.dumps({"message": message}),
    }


def handle_request(
    platform: LocalPlatform, method: str, url: str, headers: dict[str, str], body: str | None
) -> dict[str, Any]:
    """One HTTP request through API Gateway: route, Cognito authorizer, proxy event, handler."""
    path = url.split("?", 1)[0]
    request_id = str(uuid.uuid4())  # one per request, as API Gateway's: the event's, the header's, an error body's
    for route in platform.routes:
        path_parameters = route.match(method, path)
        if path_parameters is None:
            continue
        claims = None
        if route.authorized:
            assert platform.verifier is not None
            authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
            claims = platform.verifier.claims(authorization)
            if claims is None:
                return service_gateway_response(
                    platform, route.function.service, "UNAUTHORIZED", 401, headers, request_id=request_id
                )
        event = proxy_event(
            route,
            method,
            url,
            headers=headers,
            body=body,
            path_parameters=path_parameters,
            claims=claims,
        )
        event["requestContext"]["requestId"] = request_id
        result = platform.runner(route.function, event)
        if result.failed:
            platform.log(f"{route.function.name} failed: {result.payload}")
            return service_gateway_response(
                platform, route.function.service, "DEFAULT_5XX", 502, headers, request_id=request_id
            )
        answer = cast(dict[str, Any], result.payload)  # an API handler answers a proxy-integration dict
        answer["headers"] = {**(answer.get("headers") or {}), REQUEST_ID_HEADER: request_id}
        return answer
    return service_gateway_response(platform, None, "MISSING_AUTHENTICATION_TOKEN", 403, headers, request_id=request_id)


# API Gateway's own messages for the answers it makes itself.
GATEWAY_MESSAGES = {
    "UNAUTHORIZED": "Unauthorized",
    "DEFAULT_5XX": "Internal server error",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
}


def service_gateway_response(
    platform: LocalPlatform,
    service: str | None,
    response_type: str,
    status: int,
    headers: dict[str, str],
    *,
    request_id: str,
) -> dict[str, Any]:
    """An answer API Gateway makes itself, shaped by the service's GatewayResponse resources (any service's when
    no route matched)."""
    services = [service] if service else list(platform.stacks)
    configs = [platform.stacks[name].config for name in services if name in platform.stacks]
    origin = next((v for k, v in headers.items() if k.lower() == "origin"), None)
    return gateway_response(
        configs, response_type, status, GATEWAY_MESSAGES[response_type], origin, request_id=request_id
    )


DEFAULT_CORS_HEADERS = ["Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token"]


def preflight(routes: list[Route], path: str, origin: str | None) -> dict[str, Any] | None:
    """API Gateway's answer to a CORS preflight (OPTIONS), from the `cors` settings of the routes on that path; None
    for a path without them, which API Gateway answers as any unknown route."""
    matching = [route for route in routes if route.cors and route.pattern.fullmatch(path)]
    if not matching:
        return None
    cors = matching[0].cors or {}
    allowed_origins = [o.strip() for o in str(cors.get("origin") or cors.get("origins") or "*").split(",")]
    allow_origin = "*" if "*" in allowed_origins else (origin if origin in allowed_origins else allowed_origins[0])
    return {
        "statusCode": 200,
        "headers": {
            "Access-Control-Allow-Origin": allow_origin,
            "Access-Control-Allow-Headers": ",".join(cors.get("headers") or DEFAULT_CORS_HEADERS),
            "Access-Control-Allow-Methods": ",".join(sorted({r.method for r in matching} | {"OPTIONS"})),
            "Access-Control-Max-Age": str(cors.get("maxAge", 600)),
        },
        "body": "",
    }
