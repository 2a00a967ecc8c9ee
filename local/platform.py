"""The whole platform on one machine: every service deployed into moto, real handlers behind HTTP and queues."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from graphlib import TopologicalSorter
from typing import Any, cast
from unittest import mock
from urllib.parse import urlsplit

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import DefaultConfig

from local.api import Route, TokenVerifier, handle_request, routes_of
from local.cdn import CDN_PATH, LocalCdn, SigningKeyPair
from local.event_sources import deliver_queue_messages
from local.lambdas import FunctionSpec, Invocation, functions_of, invoke_in_process, start_fresh_containers
from local.moto_gaps import cognito_gaps_filled
from local.provision import Provisioner
from local.serverless_files import compose
from local.stack import Stack, printed_config_with_outputs

# moto's settings for the local platform: Step Functions runs the state machines, Lambda never reaches for Docker.
MOTO_SETTINGS: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
COMPOSE_REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\}$")
# Where the local CDN answers when the platform is not behind a real server (in-process tests): a URL's path is what
# counts (platform.request ignores the host).
IN_PROCESS_CDN_BASE_URL = "http://localhost" + CDN_PATH


def deploy_order() -> list[str]:
    graph = {
        name: {COMPOSE_REFERENCE.match(str(ref)).group(1) for ref in (service.get("params") or {}).values()}  # type: ignore[union-attr]
        for name, service in compose()["services"].items()
    }
    return list(TopologicalSorter(graph).static_order())


def moto_jwks() -> dict[str, Any]:
    """The public keys moto signs Cognito tokens with (served at /<pool id>/.well-known/jwks.json in server mode)."""
    from moto.utilities.utils import load_resource

    return cast(dict[str, Any], load_resource("cognitoidp/resources/jwks-public.json"))


class LocalPlatform:
    """Deploys every service (compose order, compose params) and delivers requests and queue messages to handlers.

    This class provisions and holds what was deployed (stacks, functions, routes) and how a function runs; API
    Gateway lives in local/api.py, the queues and schedules in local/event_sources.py, the server in local/server.py.
    """

    def __init__(
        self,
        client: Callable[[str], Any],
        stage: str = "local",
        region: str = "us-east-1",
        cdn_base_url: str = IN_PROCESS_CDN_BASE_URL,
    ) -> None:
        self.client = client
        self.stage = stage
        self.region = region
        # The delivery service's key pair, made anew at every start and never written to disk (local/cdn.py).
        self.signing_keys = SigningKeyPair.generate()
        self.cdn_base_url = cdn_base_url
        self.cdn: LocalCdn | None = None
        self.stacks: dict[str, Stack] = {}
        self.functions: dict[str, FunctionSpec] = {}
        self.routes: list[Route] = []
        self.verifier: TokenVerifier | None = None
        # How a function runs: in this process (tests) or in warm worker processes (the local platform server).
        self.runner: Callable[[FunctionSpec, Any], Invocation] = invoke_in_process
        self.log: Callable[[str], None] = lambda _: None

    # --- deployment -----------------------------------------------------------------------------------------
    def deploy(self, log: Callable[[str], None] = lambda _: None) -> None:
        provisioner = Provisioner(self.client)
        start_fresh_containers()
        for service in deploy_order():
            params = self._params_for(service) | self._local_params(service)
            config = printed_config_with_outputs(service, self.stage, params)
            stack = Stack(service, config, self.region)
            provisioner.deploy(stack)
            self.stacks[service] = stack
            if service == "delivery":
                self._stand_in_for_cloudfront(stack)
            for spec in functions_of(stack):
                self.functions[spec.name] = spec
            log(f"deployed {service}: {len(stack.resources)} resources, outputs {sorted(stack.outputs)}")
        self.routes = routes_of(list(self.functions.values()))
        auth = self.stacks["auth"].outputs
        issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{auth['UserPoolId']}"
        self.verifier = TokenVerifier(moto_jwks(), issuer, [auth["UserPoolClientId"]])

    def _params_for(self, service: str) -> dict[str, str]:
        params = {}
        for name, reference in (compose()["services"][service].get("params") or {}).items():
            producer, output = COMPOSE_REFERENCE.match(str(reference)).groups()  # type: ignore[union-attr]
            params[name] = self.stacks[producer].outputs[output]
        return params

    def _local_params(self, service: str) -> dict[str, str]:
        """What an operator passes on AWS: the public half of the signing key pair (docs/deploy.md)."""
        return {"publicKey": self.signing_keys.public_key_pem} if service == "delivery" else {}

    def _stand_in_for_cloudfront(self, delivery: Stack) -> None:
        """The distribution is this platform's /cdn path: retrieval signs for it, with the private key that the
        operator would have stored in SSM (here: in the emulator's SSM, as a SecureString)."""
        delivery.outputs["CdnBaseUrl"] = self.cdn_base_url
        self.client("ssm").put_parameter(
            Name=delivery.outputs["SigningKeyParameterName"],
            Value=self.signing_keys.private_key_pem,
            Type="SecureString",
            Overwrite=True,
        )
        self.cdn = LocalCdn(
            self.client("s3"),
            bucket=self.stacks["processing"].outputs["RenditionsBucketName"],
            base_url=self.cdn_base_url,
            public_key_pem=self.signing_keys.public_key_pem,
            key_pair_id=delivery.outputs["PublicKeyId"],
        )

    def output(self, service: str, name: str) -> str:
        return self.stacks[service].outputs[name]

    # --- Lambda ---------------------------------------------------------------------------------------------
    def function(self, name_or_arn: str) -> FunctionSpec:
        name = name_or_arn.split(":function:")[-1].split(":")[0]
        if name in self.functions:
            return self.functions[name]
        matches = [spec for spec in self.functions.values() if spec.key == name]
        if len(matches) != 1:
            raise KeyError(f"no local function {name_or_arn!r}")
        return matches[0]

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        return self.runner(self.function(name_or_arn), event)

    @contextmanager
    def emulating(self) -> Iterator[None]:
        """Patch the emulator: Lambda invokes (Step Functions tasks, direct invokes) run the real handlers instead
        of moto's stub, and the Cognito calls moto lacks are answered."""

        def invoke(
            _backend: Any,
            function_name: str,
            _qualifier: Any,
            body: Any,
            _headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            event = json.loads(body) if body else {}
            result = self.invoke(function_name, event)
            if result.failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(result.payload).encode()

        with mock.patch.object(LambdaSimpleBackend, "invoke", invoke), cognito_gaps_filled():
            yield

    # --- deliveries (implemented beside the service they emulate) -----------------------------------------------
    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, body: str | None = None
    ) -> dict[str, Any]:
        """One HTTP request through API Gateway: route, Cognito authorizer, proxy event, handler (local/api.py); a GET
        of the CDN path goes to the local CloudFront (local/cdn.py)."""
        parts = urlsplit(url)
        path, query = parts.path, parts.query
        if self.cdn is not None and method.upper() in {"GET", "HEAD"} and path.startswith(CDN_PATH + "/"):
            return self.cdn.answer(path, query, time.time())
        return handle_request(self, method, url, dict(headers or {}), body)

    def deliver_queue_messages(self, wait_seconds: int = 0) -> int:
        """One poll of every SQS event source (local/event_sources.py); returns how many messages were delivered."""
        return deliver_queue_messages(self, wait_seconds)


@contextmanager
def deployed_in_process(platform_type: type[LocalPlatform] = LocalPlatform) -> Iterator[LocalPlatform]:
    """Every service deployed into an in-process moto, the handlers run in this process (tests, benchmarks)."""

    with mock_aws(config=MOTO_SETTINGS):
        local = platform_type(lambda name: boto3.client(name, region_name="us-east-1"))
        local.deploy()
        with local.emulating():
            yield local
