"""libs/common settings: what a function reads from its environment, and what it refuses."""

import pytest
from imgplat_common.settings import PlatformSettings, load_settings
from pydantic import AliasChoices, Field, ValidationError


class ExampleSettings(PlatformSettings):
    images_table: str
    url_expires_seconds: int = Field(default=300, ge=30)
    watermark_opacity: float = 0.5
    reconciler_enabled: bool = False
    allowed_content_types: tuple[str, ...] = ("image/jpeg",)
    content_type_aliases: dict[str, str] = Field(default_factory=dict)
    optional_origins: list[str] | None = None


@pytest.fixture(autouse=True)
def _fresh_settings():
    load_settings.cache_clear()
    yield
    load_settings.cache_clear()


def test_fields_read_their_upper_case_variable_and_coerce_the_text(monkeypatch):
    # Given the variables serverless.yml would set, as text
    monkeypatch.setenv("IMAGES_TABLE", "images")
    monkeypatch.setenv("URL_EXPIRES_SECONDS", "600")
    monkeypatch.setenv("WATERMARK_OPACITY", "0.25")
    monkeypatch.setenv("RECONCILER_ENABLED", "true")
    monkeypatch.setenv("STAGE", "prod")
    # When the settings are loaded
    settings = load_settings(ExampleSettings)
    # Then each field holds its variable, as the field's type
    assert settings.images_table == "images"
    assert settings.url_expires_seconds == 600
    assert settings.watermark_opacity == 0.25
    assert settings.reconciler_enabled is True
    assert settings.stage == "prod"


def test_names_are_case_insensitive_and_unknown_variables_ignored(monkeypatch):
    monkeypatch.setenv("Images_Table", "mixed-case")
    monkeypatch.setenv("SOMETHING_ELSE", "ignored")
    settings = ExampleSettings()
    assert settings.images_table == "mixed-case"
    assert not hasattr(settings, "something_else")


def test_defaults_apply_when_a_variable_is_absent(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "images")
    monkeypatch.delenv("URL_EXPIRES_SECONDS", raising=False)
    assert ExampleSettings().url_expires_seconds == 300


def test_a_value_that_is_not_of_the_fields_type_is_refused(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "images")
    monkeypatch.setenv("URL_EXPIRES_SECONDS", "five minutes")
    with pytest.raises(ValidationError) as refused:
        load_settings(ExampleSettings)
    assert refused.value.errors()[0]["loc"] == ("url_expires_seconds",)


def test_a_value_outside_the_fields_constraints_is_refused(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "images")
    monkeypatch.setenv("URL_EXPIRES_SECONDS", "1")
    with pytest.raises(ValidationError):
        ExampleSettings()


def test_a_missing_required_variable_is_refused(monkeypatch):
    monkeypatch.delenv("IMAGES_TABLE", raising=False)
    with pytest.raises(ValidationError) as refused:
        ExampleSettings()
    assert refused.value.errors()[0]["loc"] == ("images_table",)


def test_structured_fields_read_json(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "images")
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", '["image/png", "image/webp"]')
    monkeypatch.setenv("CONTENT_TYPE_ALIASES", '{"image/jpg": "image/jpeg"}')
    monkeypatch.setenv("OPTIONAL_ORIGINS", '["https://a.example"]')
    settings = ExampleSettings()
    assert settings.allowed_content_types == ("image/png", "image/webp")
    assert settings.content_type_aliases == {"image/jpg": "image/jpeg"}
    assert settings.optional_origins == ["https://a.example"]


def test_a_structured_field_refuses_text_that_is_not_json(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "images")
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", "image/png,image/webp")
    with pytest.raises(ValueError, match="allowed_content_types"):  # named, so the operator knows which variable
        ExampleSettings()


def test_constructor_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "from-env")
    monkeypatch.setenv("URL_EXPIRES_SECONDS", "600")
    settings = ExampleSettings(images_table="given", unknown="ignored")
    assert settings.images_table == "given"
    assert settings.url_expires_seconds == 600


def test_settings_are_frozen_and_loaded_once_per_container(monkeypatch):
    monkeypatch.setenv("IMAGES_TABLE", "first")
    settings = load_settings(ExampleSettings)
    with pytest.raises(ValidationError):
        settings.images_table = "changed"  # type: ignore[misc]
    monkeypatch.setenv("IMAGES_TABLE", "second")
    assert load_settings(ExampleSettings) is settings


class AliasedSettings(PlatformSettings):
    written_formats: str = Field(default="jpeg", validation_alias=AliasChoices("rendition_formats", "written_formats"))


def test_a_field_with_a_validation_alias_reads_the_aliased_variable(monkeypatch):
    # Given the variable named by the field's alias, not by the field
    monkeypatch.setenv("RENDITION_FORMATS", "webp")
    # When the settings are loaded, then the field holds it (as pydantic-settings read it)
    assert AliasedSettings().written_formats == "webp"


def test_a_field_with_a_validation_alias_keeps_its_default_without_the_variable():
    assert AliasedSettings().written_formats == "jpeg"
