"""The whole platform on one machine: every service deployed into moto, real handlers behind HTTP and queues."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from graphlib import TopologicalSorter
from typing import Any
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend

from local.api import Route, TokenVerifier, gateway_response, proxy_event, routes_of
from local.lambda_runtime import sqs_event
from local.lambdas import FunctionSpec, Invocation, functions_of, invoke_in_process, start_fresh_containers
from local.moto_gaps import cognito_gaps_filled
from local.provision import Provisioner
from local.serverless_files import compose
from local.stack import Stack, printed_config

MOTO_SETTINGS = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
COMPOSE_REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\}$")


def deploy_order() -> list[str]:
    graph = {
        name: {COMPOSE_REFERENCE.match(str(ref)).group(1) for ref in (service.get("params") or {}).values()}  # type: ignore[union-attr]
        for name, service in compose()["services"].items()
    }
    return list(TopologicalSorter(graph).static_order())


def moto_jwks() -> dict[str, Any]:
    """The public keys moto signs Cognito tokens with (served at /<pool id>/.well-known/jwks.json in server mode)."""
    from moto.utilities.utils import load_resource

    return load_resource("cognitoidp/resources/jwks-public.json")


class LocalPlatform:
    """Deploys every service (compose order, compose params) and delivers requests and queue messages to handlers."""

    def __init__(self, client: Callable[[str], Any], stage: str = "local", region: str = "us-east-1") -> None:
        self.client = client
        self.stage = stage
        self.region = region
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
            params = self._params_for(service)
            stack = Stack(service, printed_config(service, self.stage, params), self.region)
            provisioner.deploy(stack)
            self.stacks[service] = stack
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

    # --- API Gateway ----------------------------------------------------------------------------------------
    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, body: str | None = None
    ) -> dict[str, Any]:
        """One HTTP request through API Gateway: route, Cognito authorizer, proxy event, handler."""
        headers = dict(headers or {})
        path = url.split("?", 1)[0]
        for route in self.routes:
            path_parameters = route.match(method, path)
            if path_parameters is None:
                continue
            claims = None
            if route.authorized:
                assert self.verifier is not None
                authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
                claims = self.verifier.claims(authorization)
                if claims is None:
                    return self.gateway_response(route.function.service, "UNAUTHORIZED", 401, "Unauthorized", headers)
            event = proxy_event(route, method, url, headers, body, path_parameters, claims)
            result = self.runner(route.function, event)
            if result.failed:
                self.log(f"{route.function.name} failed: {result.payload}")
                return self.gateway_response(
                    route.function.service, "DEFAULT_5XX", 502, "Internal server error", headers
                )
            return result.payload
        return self.gateway_response(None, "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token", headers)

    def gateway_response(
        self, service: str | None, response_type: str, status: int, message: str, headers: dict[str, str]
    ) -> dict[str, Any]:
        """An answer API Gateway makes itself, shaped by the service's GatewayResponse resources."""
        services = [service] if service else list(self.stacks)
        configs = [self.stacks[name].config for name in services if name in self.stacks]
        origin = next((v for k, v in headers.items() if k.lower() == "origin"), None)
        return gateway_response(configs, response_type, status, message, origin)

    # --- EventBridge schedules -------------------------------------------------------------------------------
    def schedules(self) -> list[tuple[FunctionSpec, int]]:
        """Functions with an enabled `schedule: rate(N unit)` event, and their period in seconds."""
        units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
        found = []
        for spec in self.functions.values():
            for event in spec.events:
                schedule = event.get("schedule")
                if not schedule:
                    continue
                schedule = schedule if isinstance(schedule, dict) else {"rate": schedule}
                if str(schedule.get("enabled", True)).lower() == "false":
                    continue
                match = re.fullmatch(r"rate\((\d+) (\w+)\)", str(schedule["rate"]))
                if match:
                    found.append((spec, int(match.group(1)) * units[match.group(2)]))
        return found

    def scheduled_event(self, spec: FunctionSpec) -> dict[str, Any]:
        """The event EventBridge Scheduler-style rules send to a scheduled function."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": spec.arn.split(":")[4],
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{spec.arn.split(':')[4]}:rule/{spec.name}"],
            "detail": {},
        }

    # --- SQS event sources ------------------------------------------------------------------------------------
    def queue_consumers(self) -> list[tuple[FunctionSpec, dict[str, Any]]]:
        consumers = []
        for spec in self.functions.values():
            for event in spec.events:
                if "sqs" in event:
                    sqs = event["sqs"] if isinstance(event["sqs"], dict) else {"arn": event["sqs"]}
                    consumers.append((spec, sqs))
        return consumers

    def deliver_queue_messages(self, wait_seconds: int = 0) -> int:
        """One poll of every SQS event source: deliver a batch, delete what the handler did not report as failed.

        `wait_seconds` > 0 long-polls, as Lambda's pollers do: a message is handed over as soon as it arrives.
        """
        sqs = self.client("sqs")
        delivered = 0
        for spec, source in self.queue_consumers():
            arn = str(source["arn"])
            url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(int(source.get("batchSize", 10)), 10),
                AttributeNames=["All"],
                WaitTimeSeconds=wait_seconds,
            ).get("Messages", [])
            if not messages:
                continue
            event = sqs_event(messages, arn, self.region)
            result = self.runner(spec, event)
            if result.failed:
                self.log(f"{spec.name} failed on a batch of {len(messages)}: {result.payload}")
            failed = {item["itemIdentifier"] for item in (result.payload or {}).get("batchItemFailures", [])}
            if result.failed:
                failed = {m["MessageId"] for m in messages}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            delivered += len(messages)
        return delivered
