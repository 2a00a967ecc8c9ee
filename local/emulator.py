"""moto in server mode as the local AWS: started on a port, configured as the platform needs it."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.request import Request, urlopen

import boto3

from local.api import TokenVerifier
from local.platform import MOTO_SETTINGS
from local.s3_front import VerifyingMotoServer

REGION = "us-east-1"
# The credentials every local client signs with: the only key the local S3 accepts (moto itself accepts any).
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
KNOWN_KEYS = {LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]: LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}


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


def start_emulator(host: str, port: int) -> tuple[VerifyingMotoServer, str]:
    """moto listening on host:port, executing state machines and running no Lambda code itself, its S3 behind the
    verifying front (local/s3_front.py); returns the server and its endpoint. This process's environment then points
    every AWS client at it."""
    os.environ.update(
        {
            "MOTO_PORT": str(port),  # Step Functions calls Lambda through this port
            "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
            **LOCAL_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per emulator call would drown the platform's log
    server = VerifyingMotoServer(host, port, KNOWN_KEYS, REGION)
    server.start()
    endpoint = f"http://{host}:{port}"
    http_json(f"{endpoint}/moto-api/config", MOTO_SETTINGS)
    return server, endpoint


def client_factory(endpoint: str) -> Callable[[str], Any]:
    """`client(service_name)`: a boto3 client of the emulator at `endpoint`, from any process."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    return client


def cognito_verifier(endpoint: str, user_pool_id: str, client_id: str) -> TokenVerifier:
    """API Gateway's Cognito authorizer for the deployed pool, with the keys moto serves for it."""
    jwks = http_json(f"{endpoint}/{user_pool_id}/.well-known/jwks.json")
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{user_pool_id}"
    return TokenVerifier(jwks, issuer, [client_id])


def worker_environment(endpoint: str) -> dict[str, str]:
    """What every warm worker adds to its function's environment: the emulator as AWS."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        **LOCAL_CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon on a laptop
    }
