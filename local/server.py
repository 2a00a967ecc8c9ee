"""`python -m local`: the whole platform on this machine, in the foreground, until Ctrl-C.

moto (server mode) is AWS; every service is deployed into it from its own serverless.yml; one HTTP server plays
API Gateway for all services; warm worker processes run the real handlers; a poller feeds the SQS event sources.
The pieces: local/emulator.py (moto), local/platform.py (deployment), local/workers.py (Lambda), local/http_server.py
(API Gateway and pages), local/event_sources.py (queues and schedules), local/console.py (what is printed).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import ThreadingHTTPServer

from local.cdn import CDN_PATH
from local.console import WORKERS_READY, log, print_banner
from local.emulator import (
    REGION,
    client_factory,
    cognito_verifier,
    port_is_free,
    start_emulator,
    worker_environment,
)
from local.event_sources import poll_queues, run_schedules
from local.http_server import api_handler
from local.platform import LocalPlatform
from local.workers import WorkerPool


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default=os.environ.get("IMGPLAT_HOST", "127.0.0.1"))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("IMGPLAT_API_PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("IMGPLAT_AWS_PORT", "4566")))
    schedule_seconds = os.environ.get("IMGPLAT_SCHEDULE_SECONDS")
    parser.add_argument(
        "--schedule-seconds",
        type=int,
        default=int(schedule_seconds) if schedule_seconds else None,
        help="run every scheduled function (the reconciler) this often instead of at its deployed rate",
    )
    return parser.parse_args(argv)


def busy_port_message(host: str, api_port: int, aws_port: int) -> str | None:
    """What to tell a user whose port is taken: both ways to pick another, `make dev`'s and this command's."""
    for make_variable, option, port in (("API_PORT", "--api-port", api_port), ("AWS_PORT", "--aws-port", aws_port)):
        if not port_is_free(host, port):
            return (
                f"error: port {port} on {host} is already in use; stop what uses it or pick another port:"
                f" make dev {make_variable}=<port> (python -m local {option} <port>)"
            )
    return None


@contextmanager
def emulator(host: str, port: int) -> Iterator[str]:
    """moto for the platform's lifetime; yields its endpoint."""
    server, endpoint = start_emulator(host, port)
    log("aws", f"emulator (moto) listening on {endpoint}")
    try:
        yield endpoint
    finally:
        server.stop()


def deployed_platform(endpoint: str, api_url: str) -> LocalPlatform:
    """Every service deployed into the emulator, with API Gateway's authorizer trusting the deployed user pool and
    the CDN (the delivery service's distribution) on the API's port."""
    platform = LocalPlatform(client_factory(endpoint), stage="local", region=REGION, cdn_base_url=api_url + CDN_PATH)
    platform.log = lambda message: log("lambda", message)
    platform.deploy(log=lambda message: log("deploy", message))
    auth = platform.stacks["auth"].outputs
    platform.verifier = cognito_verifier(endpoint, auth["UserPoolId"], auth["UserPoolClientId"])
    return platform


@contextmanager
def warm_workers(platform: LocalPlatform, endpoint: str) -> Iterator[None]:
    """One warm worker process per function, which then runs every invocation of the platform.

    The workers import their handlers in the background while the platform starts serving: importing every handler
    at once is most of a start's time on a small machine, and a request that comes first just waits for its own
    function's init, as on a Lambda cold start."""
    pool = WorkerPool(list(platform.functions.values()), worker_environment(endpoint))
    log("lambda", f"starting {len(pool.workers)} warm workers")

    def warm_up() -> None:
        try:
            pool.wait_until_ready()
        except RuntimeError as error:
            log("lambda", f"error: {error}")
        except OSError:  # the platform stopped while the workers were still starting
            return
        else:
            log("lambda", f"{len(pool.workers)} {WORKERS_READY}")

    try:
        pool.launch()
        platform.runner = lambda spec, event: pool.invoke(spec.name, event)
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        yield
    finally:
        pool.close()


@contextmanager
def serving(
    platform: LocalPlatform, host: str, port: int, stop: threading.Event, schedule_seconds: int | None = None
) -> Iterator[str]:
    """The HTTP API, the SQS pollers and the schedules, in threads; yields the API's URL."""
    with platform.emulating():
        api_server = ThreadingHTTPServer((host, port), api_handler(platform))
        api_server.daemon_threads = True
        threading.Thread(target=api_server.serve_forever, name="api", daemon=True).start()
        threads = (
            (poll_queues, "sqs-poller", (platform, stop, lambda message: log("queue", message))),
            (run_schedules, "schedules", (platform, stop, lambda message: log("schedule", message), schedule_seconds)),
        )
        for target, name, arguments in threads:
            threading.Thread(target=target, args=arguments, name=name, daemon=True).start()
        try:
            yield f"http://{host}:{port}"
        finally:
            api_server.shutdown()
            api_server.server_close()


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    busy = busy_port_message(args.host, args.api_port, args.aws_port)
    if busy:
        print(busy)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with ExitStack() as running:
            endpoint = running.enter_context(emulator(args.host, args.aws_port))
            try:
                platform = deployed_platform(endpoint, f"http://{args.host}:{args.api_port}")
                running.enter_context(warm_workers(platform, endpoint))
                api_url = running.enter_context(
                    serving(platform, args.host, args.api_port, stop, args.schedule_seconds)
                )
                print_banner(api_url, endpoint)
                while not stop.is_set():
                    stop.wait(0.5)
            finally:
                # Before anything closes: the threads see the stop, the user sees why the next lines come.
                stop.set()
                log("local", "stopping")
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
