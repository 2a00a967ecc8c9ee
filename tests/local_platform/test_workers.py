"""Warm Lambda workers: one process per function, its own environment, a real context and a hard timeout."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from local.lambdas import FunctionSpec
from local.workers import WorkerPool


def spec(name: str, handler: str, timeout: int = 5, greeting: str = "hello") -> FunctionSpec:
    return FunctionSpec(
        service="auth",
        key=name,
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler=f"tests/local_platform/fake_handlers.{handler}",
        environment={"GREETING": greeting},
        timeout_seconds=timeout,
        memory_mb=256,
    )


@pytest.fixture(scope="module")
def pool():
    workers = WorkerPool(
        [
            spec("reporter", "report", timeout=3, greeting="hello"),
            spec("other-reporter", "report", greeting="bonjour"),
            spec("sleeper", "sleepy", timeout=1),
            spec("breaker", "broken"),
        ],
        {"EXTRA": "1"},
    )
    workers.start()
    yield workers
    workers.close()


def test_a_worker_stays_warm_and_keeps_its_own_environment(pool):
    first = pool.invoke("reporter", {"n": 1}).payload
    second = pool.invoke("reporter", {"n": 2}).payload
    other = pool.invoke("other-reporter", {}).payload
    assert first["pid"] == second["pid"] and second["invocations"] == first["invocations"] + 1
    assert (first["greeting"], other["greeting"]) == ("hello", "bonjour")
    assert other["pid"] != first["pid"]
    assert second["event"] == {"n": 2} and second["function_name"] == "reporter"


def test_the_context_counts_down_from_the_functions_timeout(pool):
    remaining = pool.invoke("reporter", {}).payload["remaining_ms"]
    assert 2000 < remaining <= 3000


def test_an_invocation_over_the_timeout_is_killed_and_the_next_one_gets_a_fresh_worker(pool):
    timed_out = pool.invoke("sleeper", {"seconds": 5})
    assert timed_out.error_type == "Sandbox.Timedout"
    assert "1.00 seconds" in timed_out.payload["errorMessage"]
    assert pool.invoke("sleeper", {"seconds": 0}).payload == {"slept": 0}


def test_an_exception_becomes_a_lambda_error_payload(pool):
    failed = pool.invoke("breaker", {})
    assert failed.failed and failed.error_type == "ValueError"
    assert failed.payload["errorMessage"] == "the handler failed on purpose"


def test_a_worker_killed_mid_invocation_fails_it_as_runtime_exit_error_and_the_next_one_gets_a_fresh_worker(pool):
    # Given a worker busy with an invocation
    worker = pool.workers["sleeper"]
    pool.invoke("sleeper", {"seconds": 0})
    pid = worker.process.pid
    killer = threading.Timer(0.3, os.kill, args=(pid, signal.SIGKILL))

    # When its process is killed mid-step (out of memory, the sandbox recycled)
    killer.start()
    killed = pool.invoke("sleeper", {"seconds": 0.9})
    killer.join()

    # Then the invocation fails the way Lambda reports it (Step Functions' Catch sends the image to MarkFailed:
    # services/processing/tests/integration/test_processing_faults.py), and the function keeps working
    assert killed.error_type == "Runtime.ExitError"
    assert pool.invoke("sleeper", {"seconds": 0}).payload == {"slept": 0}
    assert worker.process.pid != pid


def test_an_invocation_before_the_workers_init_is_done_waits_for_it():
    """The platform serves while its workers still import their handlers: the first request waits, like a cold start."""
    launched = WorkerPool([spec("early", "report"), spec("later", "report", greeting="bonjour")], {})
    try:
        launched.launch()
        answer = launched.invoke("early", {"n": 1})
        launched.wait_until_ready()

        assert answer.payload["greeting"] == "hello" and answer.payload["invocations"] == 1
        assert launched.invoke("later", {}).payload["greeting"] == "bonjour"
        assert launched.invoke("early", {}).payload["pid"] == answer.payload["pid"], "the same warm worker"
    finally:
        launched.close()
