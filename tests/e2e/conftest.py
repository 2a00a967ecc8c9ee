"""The local platform (`python -m local`) as a subprocess on free ports, shared by the HTTP end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.serverless_files import ROOT

STARTUP_SECONDS = 180
READY_BANNER = "imgplat is running locally"


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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_platform(log_path: Path, api_port: int, aws_port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "local", "--api-port", str(api_port), "--aws-port", str(aws_port)]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    api_port, aws_port = free_port(), free_port()
    log_path = tmp_path_factory.mktemp("local-platform") / "platform.log"
    process = start_platform(log_path, api_port, aws_port)
    running = RunningPlatform(
        f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}", api_port, aws_port, log_path
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while READY_BANNER not in running.log():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the local platform did not start:\n{running.log()[-4000:]}")
        time.sleep(0.3)
    yield running
    # Ctrl-C stops everything cleanly: exit code 0, and both ports are free again.
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 0, running.log()[-4000:]
    finally:
        process.kill()
    assert not port_in_use(api_port) and not port_in_use(aws_port)
