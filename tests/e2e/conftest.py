"""The local platform two ways: `python -m local` as a subprocess on free ports (the HTTP end-to-end tests), and
in-process on moto (`platform`, one per test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.launcher import RunningPlatform, port_in_use, running_platform
from local.platform import LocalPlatform, deployed_in_process


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with deployed_in_process() as local:
        yield local


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    log_path = tmp_path_factory.mktemp("local-platform") / "platform.log"
    with running_platform(log_path) as platform:
        yield platform
        # Ctrl-C stops everything cleanly: exit code 0, and both ports are free again.
        assert platform.stop() == 0, platform.log()[-4000:]
        assert not port_in_use(platform.api_port) and not port_in_use(platform.aws_port)
