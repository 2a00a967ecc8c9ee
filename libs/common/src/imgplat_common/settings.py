"""Settings come from the function's environment (set in serverless.yml), read once per container."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Base for every service's settings: field `images_table` reads env IMAGES_TABLE, and so on."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    stage: str = "dev"


SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


@cache
def load_settings(settings_type: type[SettingsT]) -> SettingsT:
    """The settings of this container (cached; tests call load_settings.cache_clear() after changing env)."""
    return settings_type()
