"""Every service has the same inner shape, so a reader who knows one knows all (README, Layout).

services/<name>/serverless.yml, requirements.txt
services/<name>/imgplat_<name>/handlers/   one module per Lambda function, named in serverless.yml
services/<name>/imgplat_<name>/settings.py the one typed settings model (the only reader of the environment)
services/<name>/imgplat_<name>/store.py    the AWS adapter (the only importer of boto3)
services/<name>/imgplat_<name>/responses.py the answers of an API service (where it has http events)
services/<name>/tests/unit, tests/integration

A service without functions (delivery: CloudFront in front of a bucket) is infrastructure only: its serverless.yml
is all of it, and tests/test_templates.py checks its template.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from imgplat_common.settings import PlatformSettings

from local.serverless_files import serverless_config, service_dir, service_names


def _has_functions(service: str) -> bool:
    return bool(serverless_config(service).get("functions"))


# The services with Lambda code, which all share the inner shape below; the others are infrastructure only.
SERVICES = [service for service in service_names() if _has_functions(service)]
INFRASTRUCTURE_SERVICES = [service for service in service_names() if not _has_functions(service)]


def _package(service: str) -> Path:
    return service_dir(service) / f"imgplat_{service}"


def _modules(service: str) -> list[Path]:
    return sorted(_package(service).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _is_api(service: str) -> bool:
    functions = serverless_config(service)["functions"].values()
    return any("http" in event for function in functions for event in function.get("events") or [])


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_files_in_the_same_places(service):
    root, package = service_dir(service), _package(service)
    expected = [
        root / "serverless.yml",
        root / "requirements.txt",
        package / "__init__.py",
        package / "handlers" / "__init__.py",
        package / "settings.py",
        package / "store.py",
        root / "tests" / "unit",
        root / "tests" / "integration",
    ]
    if _is_api(service):
        expected.append(package / "responses.py")
    assert [path.relative_to(root) for path in expected if not path.exists()] == []


@pytest.mark.parametrize("service", SERVICES)
def test_each_function_has_its_own_handler_module_and_no_handler_module_is_orphaned(service):
    handlers = {function["handler"] for function in serverless_config(service)["functions"].values()}
    modules = {path.stem for path in (_package(service) / "handlers").glob("*.py") if path.stem != "__init__"}
    # One spelling everywhere: the handler file's path, then the function (as the Lambda runtime reads it).
    assert handlers == {f"imgplat_{service}/handlers/{module}.handler" for module in modules}


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_store_imports_the_aws_sdk(service):
    importers = [
        path.name
        for path in _modules(service)
        if {name.split(".")[0] for name in _imports(path)} & {"boto3", "botocore"}
    ]
    assert importers in ([], ["store.py"])


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_handlers_build_the_store_the_logic_gets_it_passed_in(service):
    store_module = f"imgplat_{service}.store"
    importers = [
        str(path.relative_to(_package(service)))
        for path in _modules(service)
        if "handlers" not in path.parts and any(name.startswith(store_module) for name in _imports(path))
    ]
    assert importers == []


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_settings_model_reads_the_environment(service):
    readers = [
        path.name for path in _modules(service) if "os.environ" in path.read_text() or "getenv" in path.read_text()
    ]
    assert readers == []


def _settings_defaults(service: str) -> set[str]:
    """The environment variables whose setting has a default in the service's settings model."""
    module = importlib.import_module(f"imgplat_{service}.settings")
    models = [
        value for value in vars(module).values() if isinstance(value, type) and issubclass(value, PlatformSettings)
    ]
    return {name.upper() for model in models for name, field in model.model_fields.items() if not field.is_required()}


@pytest.mark.parametrize("service", SERVICES)
def test_a_setting_with_a_default_in_its_model_gets_no_second_default_from_serverless_yml(service):
    # A param with a default that only feeds a setting would be the same fact twice: the variable is left unset
    # (`${param:x, null}`) unless a stage sets the param, and the settings model's default applies.
    config = serverless_config(service)
    param_defaults = (config.get("params") or {}).get("default") or {}
    environments = [config["provider"].get("environment") or {}]
    environments += [function.get("environment") or {} for function in config["functions"].values()]
    with_model_default = _settings_defaults(service)
    twice = sorted(
        variable
        for environment in environments
        for variable, value in environment.items()
        if variable in with_model_default
        and (match := re.fullmatch(r"\$\{param:(\w+)\}", str(value)))
        and match.group(1) in param_defaults
    )
    assert twice == []


# Local plugins that only edit the finished template (delivery's versioned signing key id).
TEMPLATE_ONLY_PLUGINS = {"./osls-plugin-versioned-ids.js"}


@pytest.mark.parametrize("service", INFRASTRUCTURE_SERVICES)
def test_a_service_without_functions_is_its_serverless_yml_alone(service):
    # Nothing to package but the template: no Python package, requirements or tests that would suggest code
    root = service_dir(service)
    assert (root / "serverless.yml").is_file()
    assert not (root / f"imgplat_{service}").exists() and not (root / "requirements.txt").exists()
    assert "package" not in serverless_config(service)
    # Only plugins that shape the template: none that packages code
    assert set(serverless_config(service).get("plugins") or []) <= TEMPLATE_ONLY_PLUGINS


def test_the_infrastructure_only_services_are_the_ones_expected():
    # A service losing its functions by accident would silently skip every layout check above
    assert INFRASTRUCTURE_SERVICES == ["delivery"]
