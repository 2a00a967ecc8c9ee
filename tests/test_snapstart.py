"""SnapStart for the API functions (param snapStart, docs/deploy.md): off, API Gateway invokes each function as
always; on, each function publishes a version with a snapshot and API Gateway invokes its "snapstart" alias. Every
API handler registers the restore hook for its store's cached clients, and no id or secret comes from `random`.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.serverless_files import ROOT, serverless_config, service_dir
from tests.test_cold_start import API_HANDLERS, API_SERVICES
from tests.test_templates import packaged_variant, templates  # noqa: F401 - templates is a fixture

SNAPSTART_PACKAGE_DIR = ".serverless-snapstart"  # the "on" variant, packaged beside the default one (gitignored)
SNAPSTART_ALIAS = "snapstart"  # the alias osls makes for a function with snapStart
SNAPSTART_FUNCTION_SETTING = "${strToBool(${param:snapStart})}"


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def _lambda_methods(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The API's methods that invoke a function (CORS preflights are mock integrations)."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ApiGateway::Method"
        and resource["Properties"]["Integration"]["Type"] == "AWS_PROXY"
    }


def _invoked_function_and_alias(method: dict[str, Any]) -> tuple[str, str | None]:
    """The function logical id an integration invokes, and the alias in its URI (None: the unqualified function)."""
    parts = method["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    (function,) = [part["Fn::GetAtt"][0] for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]
    after = parts[parts.index(next(p for p in parts if isinstance(p, dict) and "Fn::GetAtt" in p)) + 1 :]
    qualifier = "".join(str(part) for part in after).removesuffix("/invocations")
    return function, qualifier.removeprefix(":") or None


def test_every_api_function_takes_snapstart_from_its_stages_param_and_no_processing_function_does() -> None:
    for service in API_SERVICES:
        config = serverless_config(service)
        # One param per stage, off unless a stage turns it on (it costs per snapshot and per restore)
        assert config["params"]["default"]["snapStart"] == "false", service
        for name, function in config["functions"].items():
            assert function["snapStart"] == SNAPSTART_FUNCTION_SETTING, f"{service}.{name}"
            # Versions only with SnapStart, and no old version (a billed snapshot) kept after a deploy
            assert function["versionFunction"] is False, f"{service}.{name}"
    assert all("snapStart" not in f for f in serverless_config("processing")["functions"].values())


@pytest.mark.parametrize("service", API_SERVICES)
def test_with_snapstart_off_api_gateway_invokes_the_function_itself(templates, service):  # noqa: F811
    template = templates[service]
    assert all("SnapStart" not in function["Properties"] for function in _functions(template).values())
    kinds = {resource["Type"] for resource in template["Resources"].values()}
    assert not kinds & {"AWS::Lambda::Version", "AWS::Lambda::Alias"}
    for method in _lambda_methods(template).values():
        assert _invoked_function_and_alias(method)[1] is None


@pytest.fixture(scope="module")
def retrieval_with_snapstart() -> dict[str, Any]:
    """retrieval (three API functions, all behind the Cognito authorizer) packaged with snapStart=true."""
    return packaged_variant("retrieval", SNAPSTART_PACKAGE_DIR, "snapStart=true")


def test_with_snapstart_on_api_gateway_invokes_a_published_version_through_its_alias(retrieval_with_snapstart):
    template = retrieval_with_snapstart
    resources = template["Resources"]
    functions = _functions(template)
    assert len(functions) == 3
    for logical_id, function in functions.items():
        # The function snapshots each published version...
        assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        (version_id,) = [
            k
            for k, r in resources.items()
            if r["Type"] == "AWS::Lambda::Version" and r["Properties"]["FunctionName"] == {"Ref": logical_id}
        ]
        # ...and replacing a version deletes the old one, whose snapshot would be billed until Lambda drops it
        assert "DeletionPolicy" not in resources[version_id]
        (alias,) = [
            r
            for r in resources.values()
            if r["Type"] == "AWS::Lambda::Alias" and r["Properties"]["FunctionName"] == {"Ref": logical_id}
        ]
        assert alias["Properties"]["Name"] == SNAPSTART_ALIAS
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    # Every route invokes the alias (SnapStart never applies to the unpublished $LATEST)...
    invoked = [_invoked_function_and_alias(method) for method in _lambda_methods(template).values()]
    assert {function for function, _ in invoked} == set(functions)
    assert {alias for _, alias in invoked} == {SNAPSTART_ALIAS}
    # ...and API Gateway may invoke exactly that alias
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    api_permissions = [p for p in permissions if p["Principal"] == "apigateway.amazonaws.com"]
    assert len(api_permissions) == len(functions)
    assert all(p["FunctionName"]["Fn::Join"][1][1] == SNAPSTART_ALIAS for p in api_permissions)


@pytest.mark.parametrize(("service", "module"), API_HANDLERS, ids=[module for _, module in API_HANDLERS])
def test_every_api_handler_renews_every_cached_client_of_its_store_after_a_restore(service: str, module: str) -> None:
    # Given Lambda's hook module (a fake recording registrations) in a fresh interpreter
    # When the handler module is imported, as Lambda's init does before it takes the snapshot
    registered = _restore_hooks_registered_by(service, module)
    # Then one hook renews the environment, for every client or store its service caches per container
    assert [hook for hook, _ in registered] == ["imgplat_common.snapstart.renew_environment"]
    assert set(registered[0][1]) >= _cached_factories(service)


def _cached_factories(service: str) -> set[str]:
    """The functions of the service's store module that are made once per container (functools.cache)."""
    tree = ast.parse((service_dir(service) / f"imgplat_{service}" / "store.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) in {"cache", "functools.cache"} for d in node.decorator_list)
    }


def _restore_hooks_registered_by(service: str, module: str) -> list[tuple[str, list[str]]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "libs" / "common" / "src"), str(service_dir(service))]),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    code = f"""
import importlib, json, sys, types
hooks = types.ModuleType("snapshot_restore_py")
registered = []
hooks.register_after_restore = lambda func, *args: registered.append((func, args)) or func
hooks.register_before_snapshot = lambda func, *args: func
sys.modules["snapshot_restore_py"] = hooks
importlib.import_module({module!r})
print(json.dumps([[f"{{f.__module__}}.{{f.__name__}}", [a.__name__ for a in args]] for f, args in registered]))
"""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return [(hook, names) for hook, names in json.loads(done.stdout.strip().splitlines()[-1])]


def _lambda_sources() -> list[Path]:
    """Every module that ships in a Lambda zip: the shared library and each service's package."""
    packages = [ROOT / "libs" / "common" / "src" / "imgplat_common"]
    packages += sorted(path for path in (ROOT / "services").glob("*/imgplat_*") if path.is_dir())
    return [source for package in packages for source in package.rglob("*.py")]


def test_no_lambda_code_draws_ids_or_secrets_from_a_seeded_prng() -> None:
    # `random` repeats itself in every environment restored from one snapshot (and is predictable anyway);
    # uuid1 is made of the host and the clock. Ids and secrets come from `secrets`, os.urandom or uuid4.
    allowed_random = {ROOT / "libs" / "common" / "src" / "imgplat_common" / "snapstart.py"}  # re-seeds it, only
    offenders = []
    for source in _lambda_sources():
        for node in ast.walk(ast.parse(source.read_text())):
            imported = []
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module]
            if "random" in imported and source not in allowed_random:
                offenders.append(f"{source.relative_to(ROOT)}: imports random")
            if isinstance(node, ast.Attribute) and node.attr in {"uuid1", "getrandbits"}:
                offenders.append(f"{source.relative_to(ROOT)}: {node.attr}")
    assert offenders == []
    assert len(_lambda_sources()) > 50  # the scan saw the code
