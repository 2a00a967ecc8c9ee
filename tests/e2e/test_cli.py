"""The `imgplat` command against the local platform, as a user's script runs it: a real process, real HTTP."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from local.launcher import RunningPlatform, free_port

pytestmark = pytest.mark.e2e
IMGPLAT = str(Path(sys.executable).parent / "imgplat")
PASSWORD = "Correct-Horse-9-Battery"


def imgplat(platform_url: str, config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, IMGPLAT_API_URL=platform_url, IMGPLAT_CONFIG_DIR=str(config_dir))
    return subprocess.run([IMGPLAT, *args], capture_output=True, text=True, timeout=180, env=environment)


def photo(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), (200, 120, 40)).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def signed_in(local_platform: RunningPlatform, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    config_dir = tmp_path / "config"
    email = f"cli-{request.node.name[-20:].replace('_', '-')}@example.com"
    run = lambda *args: imgplat(local_platform.api_url, config_dir, *args)  # noqa: E731
    assert run("signup", "--email", email, "--password", PASSWORD).returncode == 0
    assert run("verify", "--email", email, "--code", "123456").returncode == 0
    login = run("login", "--email", email, "--password", PASSWORD)
    assert login.returncode == 0, login.stderr
    assert f"Signed in as {email}" in login.stdout
    return config_dir


def test_upload_wait_list_get_delete_with_json_output(local_platform, signed_in, tmp_path):
    run = lambda *args: imgplat(local_platform.api_url, signed_in, *args)  # noqa: E731
    # The session is cached readable by the user only
    assert stat.S_IMODE((signed_in / "tokens.json").stat().st_mode) == 0o600

    # Upload and follow processing to the end
    uploaded = run("--json", "upload", str(photo(tmp_path / "sunset.jpg")), "--wait")
    assert uploaded.returncode == 0, uploaded.stderr
    (item,) = json.loads(uploaded.stdout)
    assert item["status"] == "READY" and item["file"].endswith("sunset.jpg")
    image_id = item["image_id"]

    listed = json.loads(run("--json", "list", "--limit", "5").stdout)
    assert [entry["image_id"] for entry in listed["items"]] == [image_id]
    assert listed["items"][0]["width"] == 1200

    saved = tmp_path / "medium.jpg"
    got = run("--json", "get", image_id, "--size", "medium", "--output", str(saved))
    assert got.returncode == 0, got.stderr
    assert Image.open(saved).size == (800, 533)

    record = json.loads(run("--json", "get", image_id).stdout)
    assert record["status"] == "READY" and "thumb" in record["renditions"]

    assert run("delete", image_id).returncode == 0
    missing = run("get", image_id)
    assert missing.returncode == 4 and "No such image" in missing.stderr


def test_a_rejected_upload_ends_with_its_reason_and_exit_code_1(local_platform, signed_in, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_bytes(b"<html>not an image</html>")
    result = imgplat(local_platform.api_url, signed_in, "--json", "upload", str(not_an_image), "--wait")
    assert result.returncode == 1
    (item,) = json.loads(result.stdout)
    assert item["status"] == "REJECTED" and item["reason"]


def test_human_output_shows_a_table_and_the_status(local_platform, signed_in, tmp_path):
    run = lambda *args: imgplat(local_platform.api_url, signed_in, *args)  # noqa: E731
    uploaded = run("upload", str(photo(tmp_path / "a.jpg")), "--wait")
    assert uploaded.returncode == 0 and "READY" in uploaded.stdout
    assert "READY" in run("list").stdout
    status = run("status")
    assert status.returncode == 0 and "reachable: True" in status.stdout


def test_logout_revokes_and_forgets_the_session(local_platform, signed_in):
    run = lambda *args: imgplat(local_platform.api_url, signed_in, *args)  # noqa: E731
    assert run("logout").returncode == 0
    after = run("list")
    assert after.returncode == 3 and "imgplat login" in after.stderr


def test_a_wrong_password_and_an_unreachable_platform_are_clear_errors(local_platform, tmp_path):
    wrong = imgplat(local_platform.api_url, tmp_path, "login", "--email", "nobody@example.com", "--password", "x")
    assert wrong.returncode == 1 and "Incorrect email or password" in wrong.stderr
    nowhere = imgplat(f"http://127.0.0.1:{free_port()}", tmp_path, "--json", "list")
    assert nowhere.returncode in {3, 5}  # not signed in there: said before any connection is tried
    down = imgplat(f"http://127.0.0.1:{free_port()}", tmp_path, "login", "--email", "a@example.com", "--password", "x")
    assert down.returncode == 5 and "Cannot reach" in down.stderr
