"""The web gallery in a real browser (Debian's Chromium, headless) against the local platform, as a user sees it.

Each test looks at the page at a phone width and/or a desktop width and keeps screenshots in artifacts/web/ as the
run's evidence: one account form at a time with its own message, the gallery from the start after another user signs in,
rejected tiles with their reason, AVIF tiles for Chromium (format=auto), the viewer (size, format, download,
keyboard, confirmed delete), drag and drop of many files, readable errors when the API is down or the image is
gone, and the docs page naming the real address.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
import yaml
from PIL import Image

from local.authenticator import authenticator_code
from local.launcher import RunningPlatform, free_port
from local.serverless_files import ROOT

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("IMGPLAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]  # fmt: skip
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "web"
PASSWORD = "Correct-Horse-9-Battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
RED, GREEN = "rgb(180, 35, 24)", "rgb(6, 118, 71)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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


class Tab:
    """One browser tab on the gallery, collecting every console error and uncaught exception it sees."""

    def __init__(self, browser: Any, viewport: dict[str, int], accept_downloads: bool = False) -> None:
        self.context = browser.new_context(viewport=viewport, accept_downloads=accept_downloads)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer as a failed resource; the page handles those (the tests check how).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def shoot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width = self.page.viewport_size["width"]
        # Whatever is shown fits the width: nothing makes the page scroll sideways
        assert self.page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), f"{name} is too wide"
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)

    def sign_in(self, email: str) -> None:
        self.page.fill("#sign-in-form input[name=email]", email)
        self.page.fill("#sign-in-form input[name=password]", PASSWORD)
        self.page.click("#sign-in-form button[type=submit]")
        self.page.wait_for_selector("#workspace:not([hidden])")
        self.page.wait_for_function("() => document.querySelector('#who').textContent !== ''")

    def visible_forms(self) -> list[str]:
        forms = self.page.locator("#account form")
        return [forms.nth(i).get_attribute("id") for i in range(forms.count()) if forms.nth(i).is_visible()]

    def tile_ids(self) -> list[str]:
        return self.page.locator("#gallery .tile").evaluate_all("tiles => tiles.map((tile) => tile.dataset.imageId)")

    def close(self) -> None:
        self.context.close()


def color_of(locator: Any) -> str:
    return locator.evaluate("element => getComputedStyle(element).color")


def registered_user(platform: RunningPlatform, email: str) -> str:
    """Signs the user up and in through the API; their ID token."""
    api = platform.api_url
    requests.post(f"{api}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30).raise_for_status()
    requests.post(f"{api}/auth/verify", json={"email": email, "code": "123456"}, timeout=30).raise_for_status()
    answer = requests.post(f"{api}/auth/signin", json={"email": email, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["id_token"])


def photo_bytes(color: tuple[int, int, int] = (40, 90, 160), size: tuple[int, int] = (1600, 1000)) -> bytes:
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 200):  # stripes, so the blurhash and thumbnail have something to show
        image.paste((230, 170, 60), (x, 0, x + 100, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def holiday_photo(path: Path) -> Path:
    path.write_bytes(photo_bytes())
    return path


def uploaded(platform: RunningPlatform, token: str, data: bytes, filename: str) -> dict[str, Any]:
    """Uploads through the API as the CLI would and waits for the outcome; the image's record."""
    api, headers = platform.api_url, {"Authorization": f"Bearer {token}"}
    ticket = requests.post(
        f"{api}/upload", json={"content_type": "image/jpeg", "filename": filename, "size": len(data)},
        headers=headers, timeout=30,
    )  # fmt: skip
    ticket.raise_for_status()
    form = ticket.json()["upload"]
    requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30).raise_for_status()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        record = requests.get(f"{api}/image/{ticket.json()['image_id']}", headers=headers, timeout=30).json()
        if record["status"] in {"READY", "REJECTED", "FAILED"}:
            return dict(record)
        time.sleep(0.5)
    raise AssertionError(f"{filename} was not processed in 90 s")


def test_one_account_form_at_a_time_each_with_its_own_message(local_platform, browser):
    for number, viewport in enumerate((PHONE, DESKTOP)):
        tab = Tab(browser, viewport)
        page, email = tab.page, f"newcomer{number}@example.com"
        page.goto(local_platform.api_url + "/")
        assert tab.visible_forms() == ["sign-in-form"]
        tab.shoot("account-sign-in")

        page.click("text=No account? Sign up")
        assert tab.visible_forms() == ["sign-up-form"]
        page.fill("#sign-up-form input[name=email]", email)
        page.fill("#sign-up-form input[name=password]", PASSWORD)
        page.click("#sign-up-form button[type=submit]")
        sent = page.locator("#verify-form .message")
        sent.wait_for()
        assert tab.visible_forms() == ["verify-form"]
        assert "code was sent" in sent.text_content() and color_of(sent) == GREEN  # success is not red
        assert page.input_value("#verify-form input[name=email]") == email
        tab.shoot("account-verify")

        page.fill("#verify-form input[name=code]", "123456")
        page.click("#verify-form button[type=submit]")
        page.wait_for_selector("#sign-in-form .message:text('verified')")
        assert tab.visible_forms() == ["sign-in-form"]
        assert color_of(page.locator("#sign-in-form .message")) == GREEN

        # A wrong password: the error is red, under the sign-in form (not at the bottom of the page)
        page.fill("#sign-in-form input[name=password]", "not-the-password")
        page.click("#sign-in-form button[type=submit]")
        error = page.locator("#sign-in-form .message.error")
        error.wait_for()
        assert color_of(error) == RED and error.text_content()
        form_box, message_box = page.locator("#sign-in-form").bounding_box(), error.bounding_box()
        assert form_box["y"] <= message_box["y"] <= form_box["y"] + form_box["height"]
        tab.shoot("account-error")

        tab.sign_in(email)
        page.click("#sign-out")
        assert tab.visible_forms() == ["sign-in-form"]
        assert page.text_content("#sign-in-form .message") == "Signed out."
        assert color_of(page.locator("#sign-in-form .message")) != RED
        assert not tab.errors, tab.errors
        tab.close()


def test_an_account_with_totp_signs_in_with_the_apps_code_after_the_password(local_platform, browser):
    # Given an account that turned on two-factor sign-in (through the API, as the CLI does)
    api, email = local_platform.api_url, "totp-user@example.com"
    registered_user(local_platform, email)
    tokens = requests.post(f"{api}/auth/signin", json={"email": email, "password": PASSWORD}, timeout=30).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    secret = requests.post(f"{api}/auth/mfa/setup", headers=bearer, timeout=30).json()["secret_code"]
    confirm = {"access_token": tokens["access_token"], "code": authenticator_code(secret)}
    requests.post(f"{api}/auth/mfa/verify", json=confirm, timeout=30).raise_for_status()

    # When it signs in with its password, Then the page asks for the app's code (and shows no gallery yet)
    tab = Tab(browser, DESKTOP)
    page = tab.page
    page.goto(api + "/")
    page.fill("#sign-in-form input[name=email]", email)
    page.fill("#sign-in-form input[name=password]", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#mfa-form:not([hidden])")
    assert tab.visible_forms() == ["mfa-form"] and page.is_hidden("#workspace")
    tab.shoot("account-mfa")

    # When it enters a wrong code, Then the error shows under the form; the right one opens the gallery
    page.fill("#mfa-form input[name=code]", authenticator_code(secret, time.time() - 3000))
    page.click("#mfa-form button[type=submit]")
    page.locator("#mfa-form .message.error").wait_for()
    page.fill("#mfa-form input[name=code]", authenticator_code(secret))
    page.click("#mfa-form button[type=submit]")
    page.wait_for_selector("#workspace:not([hidden])")
    assert not tab.errors, tab.errors
    tab.close()


def test_after_sign_out_another_user_sees_their_gallery_from_the_start(local_platform, browser):
    first, second = (
        registered_user(local_platform, "first@example.com"),
        registered_user(local_platform, "second@example.com"),
    )
    firsts = [uploaded(local_platform, first, photo_bytes((200, 40, 40)), f"first-{n}.jpg") for n in range(3)]
    seconds = [uploaded(local_platform, second, photo_bytes((40, 200, 40)), f"second-{n}.jpg") for n in range(3)]
    tab = Tab(browser, DESKTOP)
    page = tab.page
    # Two tiles a page, so both users have a next page (and a cursor the second must not inherit)
    page.route("**/web/config.js", lambda route: route.fulfill(
        content_type="text/javascript", body='window.IMGPLAT_CONFIG = { apiUrl: "", pageSize: 2 };'))  # fmt: skip
    page.goto(local_platform.api_url + "/")

    tab.sign_in("first@example.com")
    page.wait_for_selector("#more:not([hidden])")
    assert set(tab.tile_ids()) <= {image["image_id"] for image in firsts} and len(tab.tile_ids()) == 2
    page.click("#sign-out")
    tab.sign_in("second@example.com")
    page.wait_for_selector("#more:not([hidden])")
    newest_two = [image["image_id"] for image in reversed(seconds)][:2]
    assert tab.tile_ids() == newest_two
    page.click("#more")
    page.wait_for_selector("#more[hidden]", state="attached")
    assert sorted(tab.tile_ids()) == sorted(image["image_id"] for image in seconds)
    tab.shoot("gallery-second-user")
    assert not tab.errors, tab.errors
    tab.close()


def test_a_rejected_image_shows_its_reason_and_can_be_opened_and_deleted(local_platform, browser):
    token = registered_user(local_platform, "rejected@example.com")
    rejected = uploaded(local_platform, token, b"this is a shopping list, not a photo", "list.jpg")
    assert rejected["status"] == "REJECTED" and rejected["reason"]
    for viewport in (PHONE, DESKTOP):
        tab = Tab(browser, viewport)
        page = tab.page
        page.goto(local_platform.api_url + "/")
        tab.sign_in("rejected@example.com")
        tile = page.locator(f'.tile[data-image-id="{rejected["image_id"]}"]')
        page.wait_for_function(
            "id => document.querySelector(`.tile[data-image-id='${id}'] .tile-reason`)?.textContent",
            arg=rejected["image_id"],
        )  # fmt: skip
        assert tile.locator(".badge").text_content() == "REJECTED"
        assert tile.locator(".tile-reason").text_content() == rejected["reason"]
        assert tile.locator(".tile-reason").is_visible()
        tab.shoot("gallery-rejected")

        tile.click()
        page.wait_for_selector("#viewer[open] #viewer-details:not([hidden])")
        assert rejected["reason"] in page.text_content("#viewer-details")
        assert page.locator("#viewer-download").is_hidden() and page.locator("#viewer-delete").is_visible()
        tab.shoot("viewer-rejected")
        page.keyboard.press("Escape")
        page.wait_for_selector("#viewer[open]", state="detached")
        assert not tab.errors, tab.errors
        tab.close()

    # Delete asks first; "Keep it" keeps it, "Yes, delete" deletes it
    tab = Tab(browser, DESKTOP)
    page = tab.page
    page.goto(local_platform.api_url + "/")
    tab.sign_in("rejected@example.com")
    page.click(f'.tile[data-image-id="{rejected["image_id"]}"]')
    page.click("#viewer-delete")
    page.wait_for_selector("#viewer-confirm", state="visible")  # the question shows after the click's handler ran
    page.click("#viewer-cancel-delete")
    page.wait_for_selector("#viewer-confirm", state="hidden")
    assert page.locator("#viewer[open]").count() == 1
    page.click("#viewer-delete")
    page.click("#viewer-confirm-delete")
    page.wait_for_selector(f'.tile[data-image-id="{rejected["image_id"]}"]', state="detached")
    assert "deleted" in page.text_content("#notice")
    headers = {"Authorization": f"Bearer {token}"}
    gone = requests.get(f"{local_platform.api_url}/image/{rejected['image_id']}", headers=headers, timeout=30)
    assert gone.status_code == 404
    assert not tab.errors, tab.errors
    tab.close()


def test_an_image_deleted_elsewhere_is_said_so_and_its_tile_goes(local_platform, browser):
    token = registered_user(local_platform, "elsewhere@example.com")
    image = uploaded(local_platform, token, photo_bytes(), "twice.jpg")
    tab = Tab(browser, DESKTOP)
    page = tab.page
    page.goto(local_platform.api_url + "/")
    tab.sign_in("elsewhere@example.com")
    tile = page.locator(f'.tile[data-image-id="{image["image_id"]}"]')
    tile.wait_for()
    headers = {"Authorization": f"Bearer {token}"}
    requests.delete(
        f"{local_platform.api_url}/image/{image['image_id']}", headers=headers, timeout=30
    ).raise_for_status()
    tile.click()
    tile.wait_for(state="detached")
    assert "no longer exists" in page.text_content("#notice")
    assert page.locator("#viewer[open]").count() == 0
    assert not tab.errors, tab.errors
    tab.close()


def test_an_unreachable_api_is_named_not_a_raw_failed_to_fetch(local_platform, browser):
    nowhere = f"http://127.0.0.1:{free_port()}"
    tab = Tab(browser, PHONE)
    page = tab.page
    page.goto(f"{local_platform.api_url}/web/?api={nowhere}")
    page.fill("#sign-in-form input[name=email]", "anyone@example.com")
    page.fill("#sign-in-form input[name=password]", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    error = page.locator("#sign-in-form .message.error")
    error.wait_for()
    assert error.text_content() == f"The API is not reachable at {nowhere}. Is the platform running?"
    # ?api= is kept for the tab: a reload without it, and the docs page, still use it
    page.goto(f"{local_platform.api_url}/web/")
    page.goto(f"{local_platform.api_url}/web/docs.html")
    page.wait_for_selector("#api-address")
    assert page.text_content("#api-address") == f"This API: {nowhere}"
    tab.close()


def test_api_parameter_survives_the_redirect_from_the_root(local_platform):
    answer = requests.get(f"{local_platform.api_url}/?api=https://api.example.com", allow_redirects=False, timeout=30)
    assert answer.headers["Location"] == "/web/?api=https://api.example.com"


def test_drop_many_files_each_with_progress_then_a_grid_of_thumbnails(local_platform, browser):
    registered_user(local_platform, "dropper@example.com")
    colors = [(200, 60, 60), (60, 160, 60), (60, 60, 200), (200, 160, 40), (120, 40, 160)]
    files = [{"name": f"drop-{n}.jpg", "bytes": list(photo_bytes(color, (800, 600)))} for n, color in enumerate(colors)]
    for viewport, least_columns in ((PHONE, 2), (DESKTOP, 5)):
        tab = Tab(browser, viewport)
        page = tab.page
        page.goto(local_platform.api_url + "/")
        tab.sign_in("dropper@example.com")
        page.wait_for_selector("#empty-gallery:not([hidden]), #gallery .tile")
        before = len(tab.tile_ids())
        dropped = page.evaluate_handle(
            """files => {
                const transfer = new DataTransfer();
                for (const file of files) {
                    transfer.items.add(new File([new Uint8Array(file.bytes)], file.name, { type: "image/jpeg" }));
                }
                return transfer;
            }""",
            files,
        )
        # On the zone on a phone, anywhere on the page (here the heading) on a desktop
        target = "#drop-zone" if viewport is PHONE else "#workspace h2"
        page.dispatch_event(target, "dragover", {"dataTransfer": dropped})
        assert "dragging" in page.get_attribute("#drop-zone", "class")
        page.dispatch_event(target, "drop", {"dataTransfer": dropped})
        assert page.locator("#uploads li").count() == len(files)  # a row per file at once
        page.wait_for_function(
            "n => document.querySelectorAll('#uploads li[data-status=READY]').length === n",
            arg=len(files),
            timeout=120_000,
        )
        assert page.locator("#uploads progress").evaluate_all("bars => bars.map((bar) => bar.value)") == [100] * len(
            files
        )
        page.wait_for_function(
            "n => document.querySelectorAll('#gallery .tile img.loaded').length >= n",
            arg=before + len(files),
            timeout=30_000,
        )
        # Real thumbnails, as sharp as the tiles: "thumb" (150 px) in a phone's small tiles, "small" (320) on a desktop
        sharp = "image => image.naturalWidth >= image.getBoundingClientRect().width"
        assert page.locator(".tile img").evaluate_all(f"images => images.every({sharp})")
        assert page.locator(".tile img").first.evaluate("image => image.naturalWidth") == (
            150 if viewport is PHONE else 320
        )
        columns = page.locator("#gallery").evaluate(
            "grid => getComputedStyle(grid).gridTemplateColumns.split(' ').length"
        )
        assert columns >= least_columns
        tab.shoot("gallery-dropped")
        assert not tab.errors, tab.errors
        tab.close()


def test_the_viewer_chooses_size_and_format_downloads_and_walks_with_the_keyboard(local_platform, browser, tmp_path):
    token = registered_user(local_platform, "viewer@example.com")
    images = [uploaded(local_platform, token, photo_bytes(color), f"walk-{n}.jpg") for n, color in
              enumerate([(200, 60, 60), (60, 160, 60), (60, 60, 200)])]  # fmt: skip
    newest_first = [image["image_id"] for image in reversed(images)]
    for viewport in (PHONE, DESKTOP):
        tab = Tab(browser, viewport, accept_downloads=True)
        page = tab.page
        page.goto(local_platform.api_url + "/")
        tab.sign_in("viewer@example.com")
        page.wait_for_function("() => document.querySelectorAll('#gallery .tile img.loaded').length === 3")
        assert tab.tile_ids() == newest_first
        page.click(f'.tile[data-image-id="{newest_first[0]}"]')
        page.wait_for_function("() => document.querySelector('#viewer-image').naturalWidth === 1600")  # large first
        assert page.text_content("#viewer-title") == "walk-2.jpg"
        assert "1600\N{MULTIPLICATION SIGN}1000" in page.text_content("#viewer-caption")
        tab.shoot("viewer-large")

        # The answer to the first choice (small, auto) arrives after the answer to the second (small, WebP): the
        # viewer shows what was chosen last, not what answered last.
        page.evaluate("""() => {
            const fetchNow = window.fetch;
            window.fetch = async (url, ...rest) => {
                const answer = await fetchNow(url, ...rest);
                if (String(url).includes("size=small&format=auto")) await new Promise((done) => setTimeout(done, 1500));
                return answer;
            };
        }""")
        page.select_option("#viewer-size", "small")
        page.select_option("#viewer-format", "webp")
        page.wait_for_function("() => document.querySelector('#viewer-image').naturalWidth === 320")
        page.wait_for_selector("#viewer-caption:text('WEBP')")
        page.wait_for_timeout(1600)  # past the late answer
        assert "WEBP" in page.text_content("#viewer-caption")
        with page.expect_download() as download_info:
            page.click("#viewer-download")
        download = download_info.value
        assert download.suggested_filename == "walk-2-small.webp"
        saved = tmp_path / f"{viewport['width']}-{download.suggested_filename}"
        download.save_as(saved)
        assert Image.open(saved).format == "WEBP" and Image.open(saved).size == (320, 200)

        page.locator("#viewer-close").focus()  # the arrows belong to the size list while it has the focus
        page.keyboard.press("ArrowRight")
        page.wait_for_selector("#viewer-title:text('walk-1.jpg')")
        page.keyboard.press("ArrowRight")
        page.wait_for_selector("#viewer-title:text('walk-0.jpg')")
        assert page.locator("#viewer-next").is_disabled() and page.locator("#viewer-previous").is_enabled()
        page.keyboard.press("ArrowRight")  # the last one: stays
        page.keyboard.press("ArrowLeft")
        page.wait_for_selector("#viewer-title:text('walk-1.jpg')")
        page.wait_for_function("() => document.querySelector('#viewer-image').naturalWidth === 320")  # choice kept
        page.keyboard.press("Escape")
        page.wait_for_selector("#viewer[open]", state="detached")
        # The focus is back on the tile last seen; Enter opens it again
        page.wait_for_function("id => document.activeElement.dataset.imageId === id", arg=newest_first[1])
        page.keyboard.press("Enter")
        page.wait_for_selector("#viewer[open] #viewer-title:text('walk-1.jpg')")
        assert not tab.errors, tab.errors
        tab.close()


def test_chromium_gets_avif_tiles_with_format_auto_and_a_jpeg_only_client_gets_jpeg(local_platform, browser):
    token = registered_user(local_platform, "avif@example.com")
    image_id = uploaded(local_platform, token, photo_bytes((90, 140, 60)), "avif.jpg")["image_id"]
    tab = Tab(browser, DESKTOP)
    page = tab.page
    # The page asks for its tiles with format=auto, naming the formats this Chromium decodes in its Accept header
    with (
        page.expect_response(lambda answer: f"/image/{image_id}?" in answer.url) as link_answer,
        page.expect_response(lambda answer: "/renditions/" in answer.url) as rendition_answer,
    ):
        page.goto(local_platform.api_url + "/")
        tab.sign_in("avif@example.com")
    link_request = link_answer.value.request
    assert "format=auto" in link_request.url and "image/avif" in link_request.headers["accept"]
    assert link_answer.value.headers["vary"] == "Accept"
    assert link_answer.value.json()["format"] == "avif"
    # Then the tile's image is the AVIF rendition, served as image/avif and decoded by the browser
    assert rendition_answer.value.headers["content-type"] == "image/avif"
    page.wait_for_selector(f'.tile[data-image-id="{image_id}"] img.loaded')
    tile_image = page.locator(f'.tile[data-image-id="{image_id}"] img')
    assert urlparse(tile_image.get_attribute("src")).path.endswith("/small.avif")
    assert tile_image.evaluate("image => image.naturalWidth") == 320
    assert not tab.errors, tab.errors
    tab.close()

    # A client that only accepts JPEG gets the JPEG of the same rendition, format=auto or no format at all
    headers = {"Authorization": f"Bearer {token}", "Accept": "image/jpeg"}
    for query in ("size=small&format=auto", "size=small"):
        answer = requests.get(f"{local_platform.api_url}/image/{image_id}?{query}", headers=headers, timeout=30)
        assert answer.status_code == 200 and answer.headers["Vary"] == "Accept"
        assert answer.json()["format"] == "jpeg"
        rendition = requests.get(answer.json()["url"], timeout=30)
        assert rendition.headers["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(rendition.content)).format == "JPEG"


def test_sign_in_upload_see_the_thumbnail_open_and_delete(local_platform, browser, tmp_path):
    registered_user(local_platform, "browser@example.com")
    tab = Tab(browser, {"width": 1100, "height": 800})
    page = tab.page
    page.goto(local_platform.api_url + "/")
    tab.sign_in("browser@example.com")
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
    assert (
        tile.locator("img").evaluate("image => image.naturalWidth") == 320
    )  # "small": the tiles are wider than 150 px
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-gallery.png"), full_page=True)

    # Open the large rendition
    tile.click()
    page.wait_for_selector("#viewer[open] img")
    page.wait_for_function("() => document.querySelector('#viewer img').naturalWidth > 0")
    assert page.locator("#viewer img").evaluate("image => image.naturalWidth") == 1600
    page.screenshot(path=str(ARTIFACTS / "web-gallery-viewer.png"))

    # Delete it, once confirmed: the tile goes, and so does the image
    page.click("#viewer-delete")
    page.click("#viewer-confirm-delete")
    page.wait_for_selector(f'.tile[data-image-id="{image_id}"]', state="detached")
    assert not tab.errors, tab.errors
    tab.close()


def test_the_api_docs_page_renders_every_route_and_names_the_real_address(local_platform, browser):
    spec = requests.get(f"{local_platform.api_url}/openapi.json", timeout=30).json()
    tab = Tab(browser, PHONE)
    page = tab.page
    page.goto(local_platform.api_url + "/docs")
    page.wait_for_selector("#docs details")
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert page.locator("#docs details").count() == operations == 16
    assert "/image/{image_id}" in page.text_content("#docs")
    assert page.text_content("#api-address") == f"This API: {local_platform.api_url}"
    assert ":3000" not in page.text_content("#docs") or local_platform.api_url.endswith(":3000")
    tab.shoot("docs")
    tab.close()


def test_the_platform_serves_the_page_the_spec_and_nothing_outside_web(local_platform):
    assert requests.get(f"{local_platform.api_url}/openapi.json", timeout=30).json() == yaml.safe_load(
        (ROOT / "docs" / "openapi.yaml").read_text()
    )
    home = requests.get(f"{local_platform.api_url}/", timeout=30)
    assert home.url.endswith("/web/") and "<title>imgplat</title>" in home.text
    for escape in ("/web/../README.md", "/web/%2e%2e/README.md", "/web/nothing-here.js"):
        outside = requests.get(f"{local_platform.api_url}{escape}", timeout=30)
        assert outside.status_code in {403, 404} and "serverless" not in outside.text, escape


def test_a_heic_the_browser_gives_no_type_is_uploaded_as_heic_and_becomes_ready(local_platform, browser):
    # Chromium on Linux and Windows knows no type for .heic (file.type is ""): the page reads it from the bytes.
    import pillow_heif

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (40, 90, 160)).save(buffer, "HEIF", quality=80)
    registered_user(local_platform, "iphone@example.com")
    tab = Tab(browser, {"width": 1100, "height": 800})
    page = tab.page
    page.goto(local_platform.api_url + "/")
    tab.sign_in("iphone@example.com")
    assert ".heic" in (page.get_attribute("#file-input", "accept") or "")
    declared: list[str] = []
    page.on(
        "request",
        lambda request: (
            declared.append(request.post_data_json["content_type"])
            if request.url.endswith("/upload") and request.method == "POST"
            else None
        ),
    )

    page.set_input_files("#file-input", {"name": "IMG_0001", "mimeType": "", "buffer": buffer.getvalue()})
    page.wait_for_selector("#uploads li[data-status=READY]", timeout=90_000)

    assert declared == ["image/heic"]


def _requests_logged(platform: RunningPlatform, path_prefix: str) -> int:
    """How many GETs of paths starting with `path_prefix` reached the local platform (its log has one line each)."""
    time.sleep(0.5)  # a request is logged right after its answer is sent
    return platform.log().count(f"[api] GET {path_prefix}")


def test_a_second_visit_loads_the_thumbnails_from_the_browser_cache(local_platform, browser):
    # Given three images, shown in a gallery of 150 px thumbnails (a phone: the listing's thumbnail URLs suffice)
    token = registered_user(local_platform, "returning@example.com")
    for number in range(3):
        uploaded(local_platform, token, photo_bytes((60 + 60 * number, 90, 160)), f"cached-{number}.jpg")
    tab = Tab(browser, PHONE)
    page = tab.page
    loaded_thumbnails = "n => document.querySelectorAll('#gallery img.thumbnail.loaded').length === n"
    sources = "() => [...document.querySelectorAll('#gallery img.thumbnail')].map((image) => image.src).sort()"
    page.goto(local_platform.api_url + "/")
    image_answers_before = _requests_logged(local_platform, "/image/")
    tab.sign_in("returning@example.com")
    page.wait_for_function(loaded_thumbnails, arg=3)
    first_visit = page.evaluate(sources)
    assert all(source.startswith(f"{local_platform.api_url}/cdn/renditions/") for source in first_visit)
    assert page.evaluate("() => [...document.querySelectorAll('#gallery img.thumbnail')].map((i) => i.naturalWidth)") \
        == [150, 150, 150]  # fmt: skip
    # One request for the whole gallery: GET /images carries the thumbnails' URLs, no GET /image/{id} per tile
    assert _requests_logged(local_platform, "/image/") == image_answers_before
    cdn_fetches = _requests_logged(local_platform, "/cdn/")

    # When the user comes back to the gallery in the same browser (a new visit of the page, same window of URLs)
    page.goto(local_platform.api_url + "/")
    page.wait_for_function(loaded_thumbnails, arg=3)

    # Then the thumbnails have the same URLs and come from the browser's cache: no request reaches the CDN
    assert page.evaluate(sources) == first_visit
    assert _requests_logged(local_platform, "/cdn/") == cdn_fetches
    transfer_sizes = page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".filter((entry) => entry.name.includes('/cdn/')).map((entry) => entry.transferSize)"
    )
    assert transfer_sizes == [0, 0, 0]  # served from the cache, not the network
    assert not tab.errors, tab.errors
    tab.close()
