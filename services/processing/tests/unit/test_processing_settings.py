"""The processing settings: the one place with defaults, refusing at load what the platform could never store."""

from __future__ import annotations

import pytest
from image_settings import TEST_MAX_UPLOAD_BYTES
from imgplat_common.keys import new_image_id, rendition_key
from imgplat_common.settings import load_settings
from imgplat_processing.settings import ImageSettings, ProcessingSettings
from pydantic import ValidationError

OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
ENVIRONMENT = {
    "IMAGES_TABLE": "images",
    "ORIGINALS_BUCKET": "originals",
    "RENDITIONS_BUCKET": "renditions",
    "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/test",
    "MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD_BYTES),
    "EVENT_BUS_NAME": "events",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    yield monkeypatch
    load_settings.cache_clear()


def test_an_upper_case_rendition_name_is_refused_when_the_settings_load(environment: pytest.MonkeyPatch):
    # Given RENDITIONS names a rendition "Thumb", which rendition_key would refuse at every Watermark step
    environment.setenv("RENDITIONS", "Thumb:150,small:320")

    # When the function loads its settings, then it stops there, naming the rendition
    with pytest.raises(ValidationError, match="Thumb"):
        load_settings(ProcessingSettings)


def test_every_rendition_the_settings_accept_has_a_key():
    settings = ImageSettings(max_upload_bytes=TEST_MAX_UPLOAD_BYTES, renditions="thumb:150,x_2-large:3200")

    keys = [rendition_key(OWNER, new_image_id(), "ab" * 32, spec.name, "jpeg") for spec in settings.rendition_specs]

    assert [key.rsplit("/", 1)[1] for key in keys] == ["thumb.jpg", "x_2-large.jpg"]


@pytest.mark.parametrize("missing", sorted(ENVIRONMENT))
def test_resource_names_and_the_upload_cap_have_no_defaults(environment: pytest.MonkeyPatch, missing: str):
    environment.delenv(missing)

    with pytest.raises(ValidationError, match=missing.lower()):
        load_settings(ProcessingSettings)


def test_the_image_code_gets_its_values_from_the_settings():
    settings = ImageSettings(max_upload_bytes=1234, max_frames=7, watermark_opacity=0.25, watermark_renditions="thumb")

    limits = settings.validation_limits
    watermark = settings.watermark_config(logo=None)

    assert (limits.max_bytes, limits.max_frames) == (1234, 7)
    assert (watermark.text, watermark.opacity, watermark.renditions) == ("© imgplat", 0.25, frozenset({"thumb"}))


def test_avif_renditions_add_avif_to_the_named_renditions_only(environment: pytest.MonkeyPatch):
    environment.setenv("AVIF_RENDITIONS", " small , medium")

    formats = load_settings(ProcessingSettings).rendition_formats

    assert formats == {
        "thumb": ("jpeg", "webp"),
        "small": ("jpeg", "webp", "avif"),
        "medium": ("jpeg", "webp", "avif"),
        "large": ("jpeg", "webp"),
    }


def test_empty_avif_renditions_means_no_avif_and_the_default_is_the_small_renditions(
    environment: pytest.MonkeyPatch,
):
    formats = load_settings(ProcessingSettings).rendition_formats
    assert {name for name, encodings in formats.items() if "avif" in encodings} == {"thumb", "small"}
    environment.setenv("AVIF_RENDITIONS", "")
    load_settings.cache_clear()

    assert all("avif" not in formats for formats in load_settings(ProcessingSettings).rendition_formats.values())


def test_rendition_formats_default_to_jpeg_and_webp_for_every_rendition(environment: pytest.MonkeyPatch):
    formats = load_settings(ProcessingSettings).rendition_formats

    assert {name: encodings[:2] for name, encodings in formats.items()} == dict.fromkeys(formats, ("jpeg", "webp"))


@pytest.mark.parametrize(
    ("written", "expected"), [("webp", ("webp",)), (" JPEG ", ("jpeg",)), ("webp,jpeg", ("webp", "jpeg"))]
)
def test_rendition_formats_name_what_every_rendition_is_written_in_and_avif_still_adds(
    environment: pytest.MonkeyPatch, written: str, expected: tuple[str, ...]
):
    environment.setenv("RENDITION_FORMATS", written)
    environment.setenv("AVIF_RENDITIONS", "thumb")

    formats = load_settings(ProcessingSettings).rendition_formats

    assert formats == {"thumb": (*expected, "avif"), "small": expected, "medium": expected, "large": expected}


@pytest.mark.parametrize(
    ("written", "message"),
    [("webp,gif", "unknown format \\(gif\\)"), ("", "names no format"), (" , ", "names no format")],
)
def test_rendition_formats_refuse_an_unknown_or_empty_list_when_the_settings_load(
    environment: pytest.MonkeyPatch, written: str, message: str
):
    environment.setenv("RENDITION_FORMATS", written)

    with pytest.raises(ValidationError, match=message):
        load_settings(ProcessingSettings)


def test_a_logo_outside_the_folder_the_watermark_step_may_read_is_refused_when_the_settings_load(
    environment: pytest.MonkeyPatch,
):
    environment.setenv("WATERMARK_LOGO_KEY", "logos/brand.png")

    with pytest.raises(ValidationError, match="below config/"):
        load_settings(ProcessingSettings)


def test_a_logo_in_the_config_folder_is_accepted(environment: pytest.MonkeyPatch):
    environment.setenv("WATERMARK_LOGO_KEY", "config/brand/logo.png")

    assert load_settings(ProcessingSettings).watermark_logo_key == "config/brand/logo.png"
