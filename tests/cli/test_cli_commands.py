"""The commands over a fake platform (httpx MockTransport): output shapes, exit codes, --json anywhere, --open."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from imgplat_cli import image_commands
from imgplat_cli.main import app
from imgplat_cli.tables import Field, print_table
from imgplat_cli.token_cache import Session, TokenCache
from rich.console import Console
from typer.testing import CliRunner

API = "http://platform.test"
IMAGE_ID = "01a23b207b03e75bd343c2892d0cf4fb"
RENDITION_URL = "http://storage.test/large.jpg?signature=abc"


def fake_platform(request: httpx.Request) -> httpx.Response:
    if request.url.path == f"/image/{IMAGE_ID}" and request.url.params.get("size"):
        link = {"url": RENDITION_URL, "size": "large", "format": "jpeg", "width": 1600, "height": 1067}
        return httpx.Response(200, json=link)
    if request.url.path == "/images":
        return httpx.Response(200, json={"items": [], "next_cursor": None})
    return httpx.Response(404, json={"error": {"code": "not_found", "message": "No such image."}})


@pytest.fixture
def invoke(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPLAT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("IMGPLAT_API_URL", API)
    TokenCache().save(API, Session("ada@example.com", "id", "access", "refresh", time.time() + 3600))
    http = httpx.Client(transport=httpx.MockTransport(fake_platform))
    return lambda *args: CliRunner().invoke(app, list(args), obj=http)


def test_a_key_column_is_never_cut_even_in_a_narrow_console():
    # Given a 40-column console (narrower than the rows), When a table with a key column is printed
    console = Console(width=40, file=io.StringIO(), color_system=None)
    print_table(console, [Field("file"), Field("image id", key=True)], [["a-very-long-file-name.jpg", IMAGE_ID]])
    # Then the id is there whole, on one line, and nothing is cut with an ellipsis
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert IMAGE_ID in text and "…" not in text


def test_a_folding_column_keeps_its_width_beside_key_columns_wider_than_the_console():
    # Given the list's columns in an 80-column console (or a pipe), the key columns alone nearly filling it
    console = Console(width=80, file=io.StringIO(), color_system=None)
    fields = [Field("image id", key=True), Field("status", key=True), Field("file"), Field("size", key=True)]
    fields.append(Field("created", key=True))
    row = [IMAGE_ID, "READY", "holiday-photo-at-the-beach.jpg", "1600x1067", "2026-12-04T17:30:12.123Z"]
    print_table(console, fields, [row])
    # Then the file column is still there with its header and its name (folded onto several lines), not squeezed to
    # nothing, and the console keeps its own width for what comes next
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "┃ file " in text and "holiday-phot" in text
    assert console.width == 80


def test_json_works_before_and_after_the_command(invoke):
    before, after = invoke("--json", "list"), invoke("list", "--json")
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout) == {"items": [], "next_cursor": None}


def test_an_error_in_json_mode_is_json_on_stderr(invoke):
    result = invoke("get", "0" * 32, "--json")
    assert result.exit_code == 4 and result.stdout == ""
    assert json.loads(result.stderr) == {"error": {"code": "not_found", "message": "No such image.", "status": 404}}


def test_open_says_so_when_no_browser_opened(invoke, monkeypatch):
    monkeypatch.setattr(image_commands.webbrowser, "open", lambda url: False)
    result = invoke("get", IMAGE_ID, "--open")
    assert result.exit_code == 1
    assert RENDITION_URL in result.stdout and "No browser could be opened" in result.stderr
    assert json.loads(invoke("get", IMAGE_ID, "--open", "--json").stdout)["opened"] is False


def test_open_reports_success_only_when_a_browser_opened(invoke, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(image_commands.webbrowser, "open", lambda url: opened.append(url) or True)
    result = invoke("get", IMAGE_ID, "--open")
    assert result.exit_code == 0 and "Opened large" in result.stdout and opened == [RENDITION_URL]


def test_version_and_the_api_address_variable_in_help(invoke):
    version = invoke("--version")
    assert version.exit_code == 0 and version.stdout.startswith("imgplat ")
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    assert "IMGPLAT_API_URL" in help_text and "--install-completion" in help_text


def test_the_new_account_commands_are_listed(invoke):
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    for command in ("resend-code", "forgot-password", "confirm-forgot-password"):
        assert command in help_text


def test_shell_completion_is_printed_for_bash():
    imgplat = str(Path(sys.executable).parent / "imgplat")
    result = subprocess.run(
        [imgplat, "--show-completion", "bash"], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert result.returncode == 0 and "_IMGPLAT_COMPLETE" in result.stdout


def test_a_usage_error_is_json_too_when_json_is_asked_for(tmp_path):
    imgplat = str(Path(sys.executable).parent / "imgplat")
    environment = dict(os.environ, IMGPLAT_CONFIG_DIR=str(tmp_path), IMGPLAT_API_URL=API)
    missing = str(tmp_path / "missing.jpg")
    for args in (["upload", missing, "--json"], ["--json", "upload", missing]):
        result = subprocess.run([imgplat, *args], capture_output=True, text=True, timeout=60, env=environment)
        assert result.returncode == 2 and result.stdout == ""
        error = json.loads(result.stderr)["error"]
        assert error["code"] == "usage" and "does not exist" in error["message"]


def test_a_rendition_link_without_format_asks_for_auto_so_a_deployment_without_jpeg_still_answers(
    tmp_path, monkeypatch
):
    asked: list[dict[str, str]] = []

    def recording_platform(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        return fake_platform(request)

    monkeypatch.setenv("IMGPLAT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("IMGPLAT_API_URL", API)
    TokenCache().save(API, Session("ada@example.com", "id", "access", "refresh", time.time() + 3600))
    http = httpx.Client(transport=httpx.MockTransport(recording_platform))

    result = CliRunner().invoke(app, ["get", IMAGE_ID, "--size", "large", "--json"], obj=http)

    assert result.exit_code == 0, result.stderr
    assert asked == [{"size": "large", "format": "auto"}]
