"""Run the real Lambda handlers with each function's own environment and a realistic context."""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from local.stack import Stack, function_logical_id


@dataclass(frozen=True)
class FunctionSpec:
    service: str
    key: str  # the name under `functions:` in serverless.yml
    name: str  # the deployed function name
    arn: str
    handler: str  # "imgplat_upload/handlers/create_upload.handler"
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def import_handler(self) -> Any:
        module_path, _, attribute = self.handler.rpartition(".")
        return getattr(importlib.import_module(module_path.replace("/", ".")), attribute)


def functions_of(stack: Stack) -> list[FunctionSpec]:
    provider = stack.config["provider"]
    specs = []
    for key, function in (stack.config.get("functions") or {}).items():
        environment = {**(provider.get("environment") or {}), **(function.get("environment") or {})}
        specs.append(
            FunctionSpec(
                service=stack.service,
                key=key,
                name=function["name"],
                arn=stack.resources[function_logical_id(key)].attributes["Arn"],
                handler=function["handler"],
                environment={k: str(stack.resolve(v)) for k, v in environment.items()},
                timeout_seconds=int(function.get("timeout") or provider.get("timeout") or 6),
                memory_mb=int(function.get("memorySize") or provider.get("memorySize") or 1024),
                events=list(function.get("events") or []),
            )
        )
    return specs


class LambdaContext:
    """What the Lambda runtime hands a handler; the remaining time honours the function's timeout."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    payload: Any
    error_type: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_type is not None


# In-process invocations share one os.environ, so they run one at a time (Step Functions runs in its own thread).
_ONE_AT_A_TIME = threading.RLock()


@contextmanager
def function_environment(spec: FunctionSpec) -> Iterator[None]:
    """The function's environment variables for the duration of one in-process invocation."""
    with _ONE_AT_A_TIME:
        saved = dict(os.environ)
        os.environ.update(spec.environment)
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = spec.name
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def start_fresh_containers() -> None:
    """A new deployment gets new containers: forget what loaded handler modules cached (settings, AWS clients).

    Only needed in-process, where one interpreter outlives several deployments (tests); workers are new processes.
    """
    for name, module in list(sys.modules.items()):
        if name.startswith("imgplat_") and module is not None:
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()


def invoke_in_process(spec: FunctionSpec, event: Any) -> Invocation:
    """Call the real handler; an exception becomes the Lambda error payload (errorType = exception class name)."""
    with function_environment(spec):
        handler = spec.import_handler()
        try:
            return Invocation(handler(event, LambdaContext(spec)))
        except Exception as error:  # a Lambda reports every unhandled error the same way
            return Invocation(
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error)[-3:],
                },
                error_type=type(error).__name__,
            )
