"""Cold-start rules that a test can hold: API handlers never import Pillow (bench/cold_start.py measures the rest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_SERVICES = ("auth", "upload", "retrieval")
API_HANDLERS = [
    (service, f"{path.parents[1].name}.handlers.{path.stem}")
    for service in API_SERVICES
    for path in sorted((ROOT / "services" / service).glob("imgplat_*/handlers/*.py"))
    if path.name != "__init__.py"
]


@pytest.mark.parametrize(("service", "module"), API_HANDLERS, ids=[module for _, module in API_HANDLERS])
def test_api_handler_import_leaves_pillow_out(service: str, module: str) -> None:
    # Given a fresh interpreter with only the service and the shared library on the path
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "libs" / "common" / "src"), str(ROOT / "services" / service)]),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # When the handler module is imported
    code = f"import importlib, sys; importlib.import_module({module!r}); print('PIL' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # Then Pillow was not imported (it costs ~20 ms of every cold start and API handlers never touch pixels)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_every_api_service_has_handlers() -> None:
    assert {service for service, _ in API_HANDLERS} == set(API_SERVICES)
