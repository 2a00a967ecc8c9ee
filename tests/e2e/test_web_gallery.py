"""The web gallery in a real browser (Debian's Chromium, headless) against the local platform.

sign in -> upload a photo -> PENDING..READY -> its thumbnail shows -> open the large rendition -> delete it.
A screenshot of the gallery is kept in artifacts/ as the run's evidence.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from PIL import Image

from local.launcher import RunningPlatform
from local.serverless_files import ROOT

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("IMGPLAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]  # fmt: skip
ARTIFACTS = ROOT / "artifacts"
PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it where apt-get exists)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it, so a missing browser there is a broken setup, not a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def registered_user(platform: RunningPlatform, email: str) -> None:
    api = platform.api_url
    requests.post(f"{api}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30).raise_for_status()
    requests.post(f"{api}/auth/verify", json={"email": email, "code": "123456"}, timeout=30).raise_for_status()


def holiday_photo(path: Path) -> Path:
    image = Image.new("RGB", (1600, 1000), (40, 90, 160))
    for x in range(0, 1600, 200):  # stripes, so the blurhash and thumbnail have something to show
        image.paste((230, 170, 60), (x, 0, x + 100, 1000))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def test_sign_in_upload_see_the_thumbnail_open_and_delete(local_platform, browser, tmp_path):
    registered_user(local_platform, "browser@example.com")
    page = browser.new_page(viewport={"width": 1100, "height": 800})  # type: ignore[attr-defined]
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.goto(local_platform.api_url + "/")

    # Sign in
    page.fill("#sign-in-form input[name=email]", "browser@example.com")
    page.fill("#sign-in-form input[name=password]", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#workspace:not([hidden])")
    assert page.text_content("#who") == "browser@example.com"

    # Upload: the row shows progress, then the status until READY
    page.set_input_files("#file-input", str(holiday_photo(tmp_path / "holiday.jpg")))
    row = page.locator("#uploads li").first
    row.wait_for()
    page.wait_for_selector("#uploads li[data-status=READY]", timeout=90_000)
    assert row.locator("progress").evaluate("element => element.value") == 100
    image_id = row.get_attribute("data-image-id")

    # The thumbnail is shown (over its blurhash placeholder)
    tile = page.locator(f'.tile[data-image-id="{image_id}"]')
    page.wait_for_selector(f'.tile[data-image-id="{image_id}"] img.loaded', timeout=30_000)
    assert tile.locator("canvas").count() == 1
    assert tile.locator("img").evaluate("image => image.naturalWidth") == 150
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-gallery.png"), full_page=True)

    # Open the large rendition
    tile.click()
    page.wait_for_selector("#viewer[open] img")
    page.wait_for_function("() => document.querySelector('#viewer img').naturalWidth > 0")
    assert page.locator("#viewer img").evaluate("image => image.naturalWidth") == 1600
    page.screenshot(path=str(ARTIFACTS / "web-gallery-viewer.png"))

    # Delete it: the tile goes, and so does the image
    page.click("#viewer-delete")
    page.wait_for_selector(f'.tile[data-image-id="{image_id}"]', state="detached")
    assert not console_errors, console_errors


def test_the_api_docs_page_renders_every_route_from_the_served_spec(local_platform, browser):
    spec = requests.get(f"{local_platform.api_url}/openapi.json", timeout=30).json()
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(local_platform.api_url + "/docs")
    page.wait_for_selector("#docs details")
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert page.locator("#docs details").count() == operations == 12
    assert "/image/{image_id}" in page.text_content("#docs")


def test_the_platform_serves_the_page_the_spec_and_nothing_outside_web(local_platform):
    assert requests.get(f"{local_platform.api_url}/openapi.json", timeout=30).json() == yaml.safe_load(
        (ROOT / "docs" / "openapi.yaml").read_text()
    )
    home = requests.get(f"{local_platform.api_url}/", timeout=30)
    assert home.url.endswith("/web/") and "<title>imgplat</title>" in home.text
    for escape in ("/web/../README.md", "/web/%2e%2e/README.md", "/web/nothing-here.js"):
        outside = requests.get(f"{local_platform.api_url}{escape}", timeout=30)
        assert outside.status_code in {403, 404} and "serverless" not in outside.text, escape
