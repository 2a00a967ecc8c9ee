"""No cyclic garbage collection in a Lambda cold start: what it makes lives as long as the container.

A cold start imports the handler (boto3, botocore, Powertools, pydantic and the validator it builds for every model,
our modules), then its first request makes the clients (botocore's service models). Python's collector counts those
allocations and, every so many, walks the tracked objects to look for unreachable cycles: in a cold start almost
nothing is garbage, so those walks (a full one is 40-60 ms on one vCPU) free nothing and only delay the first
answer. So, in Lambda only:

- each service's `handlers` package calls `begin_cold_start()` when it is imported, which Python does
  before it imports the handler module the function names, so before anything the handler loads;
- every handler is wrapped in `@ends_cold_start`: its first invocation freezes what init made (`gc.freeze()`
  moves it out of the collector's sight for good: no later collection walks it again) and, once that invocation
  has answered, turns collection back on. The first request's own objects are not frozen: what of them is garbage
  is collected by the next collections, as any request's.

Objects that init left unreachable in a cycle are frozen with the rest: a few kilobytes, once per container.
Outside Lambda (tests, the local platform) nothing changes. docs/performance.md (cold start) has the figures.

`begin_cold_start()` also points botocore at the trimmed service models (imgplat_common/botocore_models.py), in
Lambda and everywhere else alike: a boto3 session made after a handlers package is imported loads them (one made
before keeps botocore's own; both build the same requests, tests/test_botocore_models.py).
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from imgplat_common.botocore_models import use_trimmed_models

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")

_paused = False


def in_lambda_runtime() -> bool:
    """True inside a function of Lambda's managed Python runtime (which sets AWS_EXECUTION_ENV=AWS_Lambda_pythonX)."""
    return os.environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_")


def begin_cold_start() -> None:
    """What every service's `handlers` package does first: trimmed botocore models, collection paused (in Lambda)."""
    use_trimmed_models()
    pause_garbage_collection()


def pause_garbage_collection() -> None:
    """Turn the cyclic collector off until the first invocation has answered (in Lambda only; elsewhere, and when
    someone else already turned it off, nothing happens)."""
    global _paused
    if in_lambda_runtime() and gc.isenabled():
        gc.disable()
        _paused = True


def freeze_init() -> None:
    """Move everything made so far out of the collector's sight for good, if collection was paused here."""
    if _paused:
        gc.freeze()


def resume_garbage_collection() -> None:
    """Turn the collector back on, if it was paused here; otherwise do nothing."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def ends_cold_start(handler: Callable[_Params, _Result]) -> Callable[_Params, _Result]:
    """Wrap a Lambda handler: its first invocation freezes what init made, runs, and resumes garbage collection
    (whether it answered or raised)."""

    @functools.wraps(handler)
    def handle(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        if not _paused:
            return handler(*args, **kwargs)
        freeze_init()
        try:
            return handler(*args, **kwargs)
        finally:
            resume_garbage_collection()

    return handle
