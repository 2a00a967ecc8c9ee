"""What AWS Lambda hands a function, emulated once for every local run of a handler.

The context object, the function's environment as serverless.yml declares it, the handler found from its
"module.function" string, the function's CloudFormation logical id and the event an SQS trigger delivers. The local
platform (local/), the services' tests, the processing harness and bench/ all take these from here, so a context
attribute Powertools starts reading or a new rule for the environment is changed in one place.
"""

from __future__ import annotations

import importlib
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.stack import ACCOUNT_ID

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_SECONDS",
    "LambdaContext",
    "Resolver",
    "declared_environment",
    "environment_from_defaults",
    "function_arn",
    "function_key_for_logical_id",
    "function_logical_id",
    "function_memory_mb",
    "function_timeout_seconds",
    "handler_module",
    "import_handler",
    "resolved_environment",
    "runtime_variables",
    "sqs_event",
]

REGION = "us-east-1"
# What the framework deploys when neither the function nor the provider says otherwise.
DEFAULT_TIMEOUT_SECONDS = 6
DEFAULT_MEMORY_MB = 1024

# An environment value's resolver: (variable name, value as serverless.yml holds it) -> the value the function sees.
Resolver = Callable[[str, Any], Any]


def function_arn(function_name: str, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"


@dataclass
class LambdaContext:
    """The context the Lambda runtime passes a handler: the attributes Powertools reads (Logger's injected context,
    Metrics' cold start, idempotency's remaining time), with a remaining time that counts down from the timeout."""

    function_name: str = "imgplat-test"
    memory_limit_in_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    invoked_function_arn: str = ""  # the function's own ARN when not given
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.invoked_function_arn = self.invoked_function_arn or function_arn(self.function_name)
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --- the handler ---------------------------------------------------------------------------------------------------
def handler_module(handler: str) -> str:
    """The module of a serverless.yml handler string: `imgplat_upload/handlers/create_upload.handler` (or the
    dotted form) -> `imgplat_upload.handlers.create_upload`."""
    return handler.rpartition(".")[0].replace("/", ".")


def import_handler(handler: str) -> Callable[[Any, Any], Any]:
    """The function a serverless.yml handler string names, imported as the Lambda runtime imports it."""
    attribute = handler.rpartition(".")[2]
    function: Callable[[Any, Any], Any] = getattr(importlib.import_module(handler_module(handler)), attribute)
    return function


def function_logical_id(function_key: str) -> str:
    """The CloudFormation logical id the framework gives a function (`resize` -> `ResizeLambdaFunction`)."""
    normalized = function_key.replace("-", "Dash").replace("_", "Underscore")
    return f"{normalized[:1].upper()}{normalized[1:]}LambdaFunction"


def function_key_for_logical_id(functions: Mapping[str, Any], logical_id: str) -> str:
    """The key under `functions:` whose CloudFormation logical id is `logical_id` (a state machine's GetAtt target)."""
    matches = [key for key in functions if function_logical_id(key) == logical_id]
    if not matches:
        raise KeyError(f"no function in serverless.yml has the logical id {logical_id}")
    return matches[0]


# --- sizing and environment ------------------------------------------------------------------------------------------
def function_timeout_seconds(config: Mapping[str, Any], function_key: str) -> int:
    function = config["functions"][function_key]
    return int(function.get("timeout") or config["provider"].get("timeout") or DEFAULT_TIMEOUT_SECONDS)


def function_memory_mb(config: Mapping[str, Any], function_key: str) -> int:
    function = config["functions"][function_key]
    return int(function.get("memorySize") or config["provider"].get("memorySize") or DEFAULT_MEMORY_MB)


def runtime_variables(function_name: str, memory_mb: int) -> dict[str, str]:
    """The variables the Lambda runtime itself sets that the code or its libraries read."""
    return {"AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}


def declared_environment(config: Mapping[str, Any], function_key: str | None = None) -> dict[str, Any]:
    """The environment block serverless.yml gives a function: the provider's, overlaid by the function's own (none
    for `function_key=None`, the variables every function of the service shares). Values are not resolved."""
    provider = dict(config["provider"].get("environment") or {})
    if function_key is None:
        return provider
    return {**provider, **(config["functions"][function_key].get("environment") or {})}


def resolved_environment(config: Mapping[str, Any], function_key: str | None, resolve: Resolver) -> dict[str, str]:
    """The function's environment with each value resolved (Lambda's environment holds strings only); a value that
    resolves to null is left out, as the framework leaves it out of the template (the code's default applies)."""
    resolved = {name: resolve(name, value) for name, value in declared_environment(config, function_key).items()}
    return {name: str(value) for name, value in resolved.items() if value is not None}


def environment_from_defaults(
    config: Mapping[str, Any],
    function_key: str | None = None,
    stage: str = "dev",
    resources: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The function's environment from an unprinted serverless.yml, without deploying anything.

    `${param:x}` takes the service's default param, `${sls:stage}` the stage, `${param:x, null}` without such a
    param leaves the variable out (as the framework does); a variable whose value names another resource (a Ref or
    GetAtt, a compose param without a default, any other variable) takes `resources[variable]` or, when not given,
    a placeholder named after the variable. (local/ resolves the printed config against the deployed stack
    instead: see local/lambdas.py.)
    """
    params = (config.get("params") or {}).get("default") or {}
    resources = resources or {}

    def resolve(name: str, value: Any) -> Any:
        if name in resources:
            return resources[name]
        if isinstance(value, dict):
            return _placeholder(name)
        if not isinstance(value, str):
            return value
        if whole := _VARIABLE.fullmatch(value):
            return _substituted(whole.group(1), params, stage)
        return _VARIABLE.sub(lambda match: str(_substituted(match.group(1), params, stage)), value)

    return resolved_environment(config, function_key, resolve)


def _placeholder(name: str) -> str:
    return f"placeholder-{name.lower().replace('_', '-')}"


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substituted(variable: str, params: Mapping[str, Any], stage: str) -> str | None:
    """One `${...}`: `sls:stage`, `param:x`, or either with a fallback after a comma (`null` or a quoted literal)."""
    reference, _, fallback = (part.strip() for part in variable.partition(","))
    kind, _, key = reference.partition(":")
    if reference == "sls:stage":
        return stage
    if kind == "param" and key in params:
        return str(params[key])
    if fallback == "null":
        return None
    if fallback:
        return fallback.strip("'\"")
    return f"placeholder-{key or kind}"


# --- event sources ----------------------------------------------------------------------------------------------------
def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """The event an SQS trigger delivers for messages as ReceiveMessage returned them (AttributeNames=All)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }
