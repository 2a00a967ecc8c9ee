"""Warm worker processes for the Lambda functions: one process per function, started once and reused.

Each worker holds exactly one function's environment and imports its handler once, as a Lambda container does.
The parent enforces the function's timeout: a worker that overruns is killed and replaced, and the invocation
fails with `Sandbox.Timedout`, as on AWS.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import warnings
from multiprocessing.connection import Connection
from typing import Any

from local.lambdas import FunctionSpec, Invocation
from local.serverless_files import ROOT

# Lambda allows 10 s of init; two cores importing every function at once need more, so locally it is generous.
INIT_TIMEOUT_SECONDS = 120
# Spawned (not forked) workers start clean: no inherited moto patches, threads or locks from the platform process.
_SPAWN = multiprocessing.get_context("spawn")


def _serve(spec: FunctionSpec, extra_environment: dict[str, str], connection: Connection) -> None:
    """The worker's main loop: set the environment, import the handler once, answer invocations until closed."""
    # Ctrl-C in a terminal reaches the whole process group: the platform process stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(spec.environment)
    os.environ.update(extra_environment)
    os.environ.update(spec.runtime_variables())
    sys.path[:0] = [str(ROOT / "services" / spec.service), str(ROOT)]
    # Functions that publish no metric on a request are fine; Powertools' warning about it is only noise here.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    handler = spec.import_handler()
    connection.send(("ready", None))  # init is done: the timeout of each invocation starts counting now
    while True:
        try:
            event = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", handler(event, spec.context())))
        except Exception as error:  # every unhandled error is reported the way Lambda reports it
            connection.send(("error", {"errorType": type(error).__name__, "errorMessage": str(error)}))


class _Worker:
    def __init__(self, spec: FunctionSpec, extra_environment: dict[str, str]) -> None:
        self.spec = spec
        self.extra_environment = extra_environment
        self.lock = threading.Lock()  # one invocation at a time, like one Lambda execution environment
        self.process: Any = None
        self.connection: Connection | None = None
        self.ready = False

    def start(self) -> None:
        self.launch()
        self.wait_until_ready()

    def launch(self) -> None:
        parent, child = _SPAWN.Pipe()
        self.process = _SPAWN.Process(
            target=_serve, args=(self.spec, self.extra_environment, child), name=f"lambda:{self.spec.name}", daemon=True
        )
        self.process.start()
        child.close()
        self.connection = parent
        self.ready = False

    def wait_until_ready(self) -> None:
        if self.ready:
            return
        assert self.connection is not None
        if not self.connection.poll(INIT_TIMEOUT_SECONDS):
            self.stop()
            raise RuntimeError(f"{self.spec.name} did not finish its init in {INIT_TIMEOUT_SECONDS} s")
        try:
            status, _ = self.connection.recv()
        except EOFError:
            self.stop()
            raise RuntimeError(f"{self.spec.name} exited during its init (see the error above)") from None
        assert status == "ready", status
        self.ready = True

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.process = self.connection = None
        self.ready = False

    def invoke(self, event: Any) -> Invocation:
        with self.lock:
            if self.process is None or not self.process.is_alive():
                self.start()
            else:  # launched, and perhaps still importing its handler: the invocation waits, as on a cold start
                self.wait_until_ready()
            assert self.connection is not None
            try:
                self.connection.send(event)
                if not self.connection.poll(self.spec.timeout_seconds):
                    self.stop()
                    message = f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
                    return Invocation({"errorType": "Sandbox.Timedout", "errorMessage": message}, "Sandbox.Timedout")
                status, payload = self.connection.recv()
            except (EOFError, BrokenPipeError, ConnectionResetError):
                self.stop()
                message = "The Lambda worker exited while handling the request"
                return Invocation({"errorType": "Runtime.ExitError", "errorMessage": message}, "Runtime.ExitError")
            if status == "error":
                return Invocation(payload, payload["errorType"])
            return Invocation(payload)


class WorkerPool:
    """One warm worker per function; `invoke` is safe to call from any thread."""

    def __init__(self, specs: list[FunctionSpec], extra_environment: dict[str, str]) -> None:
        self.workers = {spec.name: _Worker(spec, extra_environment) for spec in specs}

    def start(self) -> None:
        """Launch every worker, then wait for all of them to finish their init (they import in parallel)."""
        self.launch()
        self.wait_until_ready()

    def launch(self) -> None:
        """Launch every worker without waiting: an invocation that comes before its worker's init is done waits."""
        for worker in self.workers.values():
            worker.launch()

    def wait_until_ready(self) -> None:
        """Wait for every launched worker to finish its init; raises the first init that failed."""
        for worker in self.workers.values():
            with worker.lock:
                if worker.process is not None:  # a stopped worker starts again on its next invocation
                    worker.wait_until_ready()

    def invoke(self, function_name: str, event: Any) -> Invocation:
        return self.workers[function_name].invoke(event)

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
