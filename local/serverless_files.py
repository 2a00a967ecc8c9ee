"""Read the services' own definitions (serverless.yml, compose, ASL), so local runs never keep a second list."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "serverless-compose.yml"


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags (!Ref, !GetAtt, !Sub ...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _cfn_tag)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


@cache
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


def service_names() -> list[str]:
    return list(compose()["services"])


def service_dir(name: str) -> Path:
    return ROOT / compose()["services"][name]["path"]


@cache
def serverless_config(name: str) -> dict[str, Any]:
    return load_yaml(service_dir(name) / "serverless.yml")


def api_handler_modules() -> dict[str, list[str]]:
    """The handler module of every function behind an `http` event, by service: the APIs, as serverless.yml has them.

    Each module exposes its Powertools resolver as `app`; a handler "imgplat_auth/handlers/api.handler" is the
    module imgplat_auth.handlers.api.
    """
    modules: dict[str, list[str]] = {}
    for service in service_names():
        for function in serverless_config(service)["functions"].values():
            if any("http" in event for event in function.get("events") or []):
                module = function["handler"].rpartition(".")[0].replace("/", ".")
                modules.setdefault(service, []).append(module)
    return modules
