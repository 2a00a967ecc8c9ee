"""Settings come from the function's environment (set in serverless.yml), read once per container.

A plain pydantic model filled from os.environ, not pydantic-settings: the same reading (case-insensitive names,
JSON for structured fields, arguments over the environment) without its ~20 ms of imports (dotenv, argparse, its
CLI and secrets sources) in every cold start, which alone would spend an API handler's budget over the floor
(docs/performance.md, cold start).
"""

from __future__ import annotations

import json
import os
import types
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ConfigDict
from pydantic.fields import FieldInfo

# Values of these types come as JSON text, as pydantic-settings reads them (ALLOWED_CONTENT_TYPES='["image/png"]').
_STRUCTURED = (list, tuple, set, frozenset, dict)


class PlatformSettings(BaseModel):
    """Base for every service's settings: field `images_table` reads env IMAGES_TABLE, and so on."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    stage: str = "dev"

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self)), **values})


def _from_environment(settings_type: type[PlatformSettings]) -> dict[str, Any]:
    """Each field's variable (any case) as text, or as decoded JSON for a structured field; absent ones left out."""
    environment = {name.lower(): value for name, value in os.environ.items()}
    found: dict[str, Any] = {}
    for name, field in settings_type.model_fields.items():
        variable = next((candidate for candidate in _variable_names(name, field) if candidate in environment), None)
        if variable is None:
            continue
        text = environment[variable]
        if not _is_structured(field.annotation):
            found[variable] = text
            continue
        try:
            found[variable] = json.loads(text)
        except ValueError as error:
            raise ValueError(f'error parsing value for field "{name}" from the environment: not JSON') from error
    return found


def _variable_names(name: str, field: FieldInfo) -> list[str]:
    """The variables a field is read from: its validation alias (or each of its choices) if it has one, as
    pydantic-settings reads them, else its name."""
    alias = field.validation_alias
    if alias is None:
        return [name]
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    return [choice.lower() for choice in choices if isinstance(choice, str)]


def _is_structured(annotation: Any) -> bool:
    """A list, tuple, set or dict field, or an optional one."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_structured(member) for member in get_args(annotation) if member is not type(None))
    return (origin or annotation) in _STRUCTURED


SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


@cache
def load_settings(settings_type: type[SettingsT]) -> SettingsT:
    """The settings of this container (cached; tests call load_settings.cache_clear() after changing env)."""
    return settings_type()
