"""Read the services' own definitions (serverless.yml, compose, ASL), so local runs never keep a second list."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "serverless-compose.yml"
# A whole value `${file(path)}` or `${file(path):key.path}`, the framework's way to pull in a shared fragment
# (services/shared/) or a generated file (a request schema). Only whole values: the framework has no other use here.
FILE_REFERENCE = re.compile(r"^\$\{file\((?P<path>[^)]+)\)(?::(?P<address>[\w.-]+))?\}$")


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
    """The file's YAML, CloudFormation tags in long form and `${file(...)}` values replaced by what they name."""
    return resolve_file_references(parse_yaml(path), path.parent)


def parse_yaml(path: Path) -> Any:
    """The file as written (YAML or JSON): `${file(...)}` references are left as they are."""
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def resolve_file_references(value: Any, base_dir: Path) -> Any:
    """`value` with every `${file(path)}` / `${file(path):a.b}` replaced as osls does it (path relative to the
    service directory), so local runs and tests see the config a deploy gets. Other variables are left as they are."""
    if isinstance(value, dict):
        return {key: resolve_file_references(inner, base_dir) for key, inner in value.items()}
    if isinstance(value, list):
        return [resolve_file_references(inner, base_dir) for inner in value]
    match = FILE_REFERENCE.match(value) if isinstance(value, str) else None
    if not match:
        return value
    content = parse_yaml((base_dir / match["path"]).resolve())
    address = match["address"]
    for key in address.split(".") if address else ():
        content = content[key]
    return resolve_file_references(content, base_dir)


SHARED_FRAGMENTS_DIR = ROOT / "services" / "shared"


def shared_fragments() -> list[Path]:
    """The serverless.yml fragments every service may pull in with ${file(../shared/...)}."""
    return sorted(SHARED_FRAGMENTS_DIR.glob("*.yml"))


def param_default(service: str, name: str) -> Any:
    """A param's default in the service's serverless.yml (`serverless_config`: its fragments pulled in), the one
    place such a value lives (upload's maxUploadBytes)."""
    return serverless_config(service)["params"]["default"][name]


@cache
def compose() -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return config


def service_names() -> list[str]:
    return list(compose()["services"])


def service_dir(name: str) -> Path:
    return ROOT / str(compose()["services"][name]["path"])


@cache
def serverless_config(name: str) -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(service_dir(name) / "serverless.yml")
    return config


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
