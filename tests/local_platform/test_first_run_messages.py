"""What `make dev` tells a new user: where the API is and how to point the CLI at it; what to do about a busy port."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import typer.main
from imgplat_cli.main import app

from local.console import print_banner
from local.launcher import free_port
from local.server import busy_port_message
from local.serverless_files import ROOT


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_the_banner_exports_the_variable_the_cli_reads(capsys):
    print_banner("http://127.0.0.1:8080", "http://127.0.0.1:5566")

    (variable, value) = re.findall(r"export (\w+)=(\S+?)\)", capsys.readouterr().out)[0]
    api_url_option = next(p for p in typer.main.get_command(app).params if p.name == "api_url")
    assert variable in api_url_option.envvar and value == "http://127.0.0.1:8080"


def test_the_readme_shows_the_banner_as_it_is_printed(capsys):
    print_banner("http://127.0.0.1:3000", "http://127.0.0.1:4566")

    assert capsys.readouterr().out.strip("\n") in (ROOT / "README.md").read_text()


def test_a_busy_api_port_names_the_make_variable_and_the_option(busy_port):
    message = busy_port_message("127.0.0.1", busy_port, free_port())

    assert message is not None and f"port {busy_port}" in message and "already in use" in message
    assert "make dev API_PORT=" in message and "--api-port" in message


def test_a_busy_aws_port_names_the_make_variable_and_the_option(busy_port):
    message = busy_port_message("127.0.0.1", free_port(), busy_port)

    assert message is not None and f"port {busy_port}" in message
    assert "make dev AWS_PORT=" in message and "--aws-port" in message


def test_free_ports_give_no_message():
    assert busy_port_message("127.0.0.1", free_port(), free_port()) is None
