"""Tiny Lambda handlers for testing the local runtime itself (not platform code)."""

from __future__ import annotations

import os
import time
from typing import Any

_INVOCATIONS = {"count": 0}


def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What the runtime gave the handler: its environment, context and how warm the process is."""
    _INVOCATIONS["count"] += 1
    return {
        "greeting": os.environ.get("GREETING"),
        "pid": os.getpid(),
        "invocations": _INVOCATIONS["count"],
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function_name": context.function_name,
        "event": event,
    }


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("seconds", 0)))
    return {"slept": event.get("seconds", 0)}


def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise ValueError("the handler failed on purpose")
