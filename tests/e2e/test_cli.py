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


def test_a_file_refused_before_sending_is_not_sent_not_failed(local_platform, signed_in, tmp_path):
    # Given a text file beside a photo: the platform refuses the text file's type before anything is sent
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list")
    result = imgplat(local_platform.api_url, signed_in, "upload", str(notes), str(photo(tmp_path / "a.jpg")), "--wait")
    # Then its row says it was never sent (FAILED is the platform's word for its own failures), the photo goes on
    assert "NOT SENT" in result.stdout and "FAILED" not in result.stdout
    assert "READY" in result.stdout and result.returncode == 1


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


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_one_bad_file_does_not_stop_a_batch_and_every_id_is_printed_whole(local_platform, signed_in, tmp_path):
    # Given a good photo, a text file the platform refuses, and a good photo with a long name
    first = photo(tmp_path / "first.jpg")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    last = photo(tmp_path / ("a-rather-long-holiday-photo-name-" * 3 + "last.jpg"))
    run = lambda *args: imgplat(local_platform.api_url, signed_in, *args)  # noqa: E731
    # When they are uploaded in one command, piped (80 columns)
    result = run("upload", str(first), str(notes), str(last))
    # Then both photos are uploaded, each with its id on its own line, the refusal names its file, and exit is 1
    assert result.returncode == 1
    uploaded = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("uploaded ")]
    assert len(uploaded) == 2 and all(len(image_id) == 32 for image_id in uploaded)
    assert f"{notes}: Images must be one of" in result.stderr and "unsupported_media_type" in result.stderr
    # And the list shows every id whole, so it can be copied into get or delete
    listed = run("list")
    assert all(image_id in listed.stdout for image_id in uploaded) and "…" not in listed.stdout
    assert run("get", uploaded[1]).returncode == 0


def test_a_folder_uploads_its_images_typed_by_their_bytes(local_platform, signed_in, tmp_path):
    # Given a folder: a JPEG, a PNG without extension, a PNG named .jpg (a lie) and a text file
    folder = tmp_path / "album"
    folder.mkdir()
    photo(folder / "one.jpg")
    (folder / "two").write_bytes(png_bytes())
    (folder / "three.jpg").write_bytes(png_bytes())
    (folder / "readme.txt").write_text("not an image")
    # When the folder is uploaded (--json after the command) and followed
    result = imgplat(local_platform.api_url, signed_in, "upload", str(folder), "--wait", "--json")
    # Then the three images are uploaded and processed, the text file left out
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    assert sorted(Path(item["file"]).name for item in outcomes) == ["one.jpg", "three.jpg", "two"]
    assert {item["status"] for item in outcomes} == {"READY"}


def test_delete_of_several_ids_goes_past_an_unknown_one(local_platform, signed_in, tmp_path):
    run = lambda *args: imgplat(local_platform.api_url, signed_in, *args)  # noqa: E731
    uploaded = json.loads(
        run("upload", str(photo(tmp_path / "a.jpg")), str(photo(tmp_path / "b.jpg")), "--json").stdout
    )
    first, second = (item["image_id"] for item in uploaded)
    unknown = "0" * 32
    result = run("delete", first, unknown, second)
    assert result.returncode == 4
    assert f"deleted {first}" in result.stdout and f"deleted {second}" in result.stdout
    assert unknown in result.stderr
    as_json = json.loads(run("delete", unknown, "--json").stdout)
    assert as_json["deleted"] == [] and as_json["failed"][0]["image_id"] == unknown
    assert json.loads(run("list", "--json").stdout)["items"] == []


def test_errors_in_json_mode_are_json_and_name_the_invalid_fields(local_platform, tmp_path):
    run = lambda *args: imgplat(local_platform.api_url, tmp_path, *args)  # noqa: E731
    human = run("signup", "--email", "not-an-email", "--password", PASSWORD)
    assert human.returncode == 1 and "invalid_request" in human.stderr and "email:" in human.stderr
    as_json = run("signup", "--email", "not-an-email", "--password", PASSWORD, "--json")
    assert as_json.returncode == 1 and as_json.stdout == ""
    error = json.loads(as_json.stderr)["error"]
    assert error["code"] == "invalid_request" and error["fields"][0]["field"] == "email"
    not_signed_in = json.loads(run("--json", "list").stderr)["error"]
    assert not_signed_in["code"] == "not_signed_in"


def test_status_checks_the_platform_and_fails_when_it_does_not_answer(local_platform, signed_in, tmp_path):
    up = json.loads(imgplat(local_platform.api_url, signed_in, "status", "--json").stdout)
    assert up["reachable"] is True and up["signed_in"] is True and up["email"].startswith("cli-")
    down = imgplat(f"http://127.0.0.1:{free_port()}", signed_in, "status")
    assert down.returncode == 5 and "reachable: False" in down.stdout
    signed_out = imgplat(local_platform.api_url, tmp_path / "nobody", "status")
    assert signed_out.returncode == 3 and "reachable: True" in signed_out.stdout


def test_a_forgotten_password_is_reset_from_the_command_line(local_platform, tmp_path):
    run = lambda *args: imgplat(local_platform.api_url, tmp_path, *args)  # noqa: E731
    email = "cli-reset@example.com"
    assert run("signup", "--email", email, "--password", PASSWORD).returncode == 0
    resent = run("resend-code", "--email", email)
    assert resent.returncode == 0 and "imgplat verify" in resent.stdout
    assert run("verify", "--email", email, "--code", "123456").returncode == 0
    assert run("forgot-password", "--email", email).returncode == 0
    new_password = "Another-Horse-7-Staple"
    changed = run("confirm-forgot-password", "--email", email, "--code", "123456", "--new-password", new_password)
    assert changed.returncode == 0, changed.stderr
    assert run("login", "--email", email, "--password", new_password).returncode == 0
