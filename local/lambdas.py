"""Run the real Lambda handlers with each function's own environment and a realistic context."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from local.lambda_runtime import (
    LambdaContext,
    function_logical_id,
    function_memory_mb,
    function_timeout_seconds,
    import_handler,
    resolved_environment,
    runtime_variables,
)
from local.stack import Stack


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

    def import_handler(self) -> Callable[[Any, Any], Any]:
        return import_handler(self.handler)

    def context(self) -> LambdaContext:
        """A fresh context for one invocation; its remaining time honours the function's timeout."""
        return LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.memory_mb,
            timeout_seconds=self.timeout_seconds,
            invoked_function_arn=self.arn,
        )

    def runtime_variables(self) -> dict[str, str]:
        return runtime_variables(self.name, self.memory_mb)


def functions_of(stack: Stack) -> list[FunctionSpec]:
    """The stack's deployed functions, each with its environment resolved against the stack's resources."""
    specs = []
    for key, function in (stack.config.get("functions") or {}).items():
        specs.append(
            FunctionSpec(
                service=stack.service,
                key=key,
                name=function["name"],
                arn=stack.resources[function_logical_id(key)].attributes["Arn"],
                handler=function["handler"],
                environment=resolved_environment(stack.config, key, lambda _name, value: stack.resolve(value)),
                timeout_seconds=function_timeout_seconds(stack.config, key),
                memory_mb=function_memory_mb(stack.config, key),
                events=list(function.get("events") or []),
            )
        )
    return specs


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
        os.environ.update(spec.runtime_variables())
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
                # Cached functions only: a class (a Protocol naming cache_clear, say) has nothing cached
                is_cached_function = callable(getattr(value, "cache_clear", None)) and not isinstance(value, type)
                if is_cached_function and getattr(value, "__module__", None) == name:
                    value.cache_clear()


def invoke_in_process(spec: FunctionSpec, event: Any) -> Invocation:
    """Call the real handler; an exception becomes the Lambda error payload (errorType = exception class name)."""
    with function_environment(spec):
        handler = spec.import_handler()
        try:
            return Invocation(handler(event, spec.context()))
        except Exception as error:  # a Lambda reports every unhandled error the same way
            return Invocation(
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error)[-3:],
                },
                error_type=type(error).__name__,
            )
