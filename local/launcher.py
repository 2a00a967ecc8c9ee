"""Start `python -m local` as a child process on free ports and wait until it serves (tests and benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local.console import READY_BANNER, WORKERS_READY
from local.serverless_files import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class RunningPlatform:
    api_url: str
    aws_url: str
    api_port: int
    aws_port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, as a user would; returns the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.process.kill()


@contextmanager
def running_platform(log_path: Path, startup_seconds: float = 180) -> Iterator[RunningPlatform]:
    """The local platform on two free ports, every worker warm (measurements and tests see no cold start); stopped
    with Ctrl-C on exit."""
    api_port, aws_port = free_port(), free_port()
    command = [sys.executable, "-m", "local", "--api-port", str(api_port), "--aws-port", str(aws_port)]
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=environment)
    platform = RunningPlatform(
        f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}", api_port, aws_port, log_path, process
    )
    try:
        deadline = time.monotonic() + startup_seconds
        while not all(line in platform.log() for line in (READY_BANNER, WORKERS_READY)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local platform did not start:\n{platform.log()[-4000:]}")
            time.sleep(0.3)
        yield platform
    finally:
        if process.poll() is None:
            platform.stop()
