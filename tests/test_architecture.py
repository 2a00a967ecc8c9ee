"""The services meet only through exported resources, wired by compose, without cycles, as documented."""

import re
from graphlib import CycleError, TopologicalSorter

import pytest

from local.serverless_files import ROOT, compose, serverless_config, service_dir, service_names

PARAM_REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\}$")


def _dependencies() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, service in compose()["services"].items():
        graph[name] = {PARAM_REFERENCE.match(str(ref)).group(1) for ref in (service.get("params") or {}).values()}
    return graph


def test_compose_params_only_reference_other_services_outputs():
    for name, service in compose()["services"].items():
        for param, reference in (service.get("params") or {}).items():
            match = PARAM_REFERENCE.match(str(reference))
            assert match, f"{name}.{param} must be ${{service.Output}}, got {reference!r}"
            producer, output = match.groups()
            assert producer != name
            outputs = serverless_config(producer)["resources"]["Outputs"]
            assert output in outputs, f"{name}.{param} consumes {producer}.{output}, which {producer} does not export"


def test_deploy_order_has_no_cycles_and_is_auth_upload_processing_retrieval():
    try:
        order = list(TopologicalSorter(_dependencies()).static_order())
    except CycleError as cycle:  # pragma: no cover - the assertion message is the point
        pytest.fail(f"compose dependencies form a cycle: {cycle}")
    assert order == ["auth", "upload", "processing", "retrieval"]


def test_every_consumed_param_is_used_and_every_used_param_is_wired():
    for name in service_names():
        text = (service_dir(name) / "serverless.yml").read_text()
        used = set(re.findall(r"\$\{param:(\w+)", text))
        config = serverless_config(name)
        defaults = set((config.get("params") or {}).get("default") or {})
        wired = set(compose()["services"][name].get("params") or {})
        assert wired <= used, f"{name}: compose passes params the service never uses: {wired - used}"
        unset = used - wired - defaults
        assert not unset, f"{name}: params with neither a default nor compose wiring: {unset}"


def test_no_service_imports_another_services_code():
    packages = {name: f"imgplat_{name}" for name in service_names()}
    for name, package in packages.items():
        for source in (service_dir(name) / package).rglob("*.py"):
            text = source.read_text()
            for other, other_package in packages.items():
                imports_other = re.search(rf"^\s*(from|import)\s+{other_package}\b", text, re.M)
                assert other == name or not imports_other, f"{source} imports {other}"
            assert not re.search(r"^\s*(from|import)\s+local\b", text, re.M), f"{source} imports the local platform"


def test_architecture_doc_names_every_export():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for name in service_names():
        for output in serverless_config(name)["resources"].get("Outputs", {}):
            assert f"`{output}`" in doc, f"docs/architecture.md does not mention {name}'s output {output}"


def test_each_service_ships_the_shared_library_and_nothing_from_other_services():
    for name in service_names():
        requirements = (service_dir(name) / "requirements.txt").read_text().split()
        assert "../../libs/common" in requirements
        assert not any("services/" in line for line in requirements)


def test_dev_requirements_pin_the_same_versions_as_the_services():
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    for name in service_names():
        for line in (service_dir(name) / "requirements.txt").read_text().splitlines():
            if "==" in line:
                assert line.strip() in (d.strip() for d in dev), f"{name} pins {line} but requirements-dev.txt does not"


def test_deploy_doc_gives_each_service_exactly_the_params_compose_wires():
    doc = (ROOT / "docs" / "deploy.md").read_text()
    for name, service in compose()["services"].items():
        command = re.search(rf"\(cd services/{name} && npx osls deploy (.*?)\)\n", doc, re.S)
        assert command, f"docs/deploy.md has no standalone deploy command for {name}"
        documented = dict(re.findall(r'--param="(\w+)=\$\(out (\w+ \w+)\)"', command.group(1)))
        wired = {
            param: " ".join(PARAM_REFERENCE.match(str(ref)).groups())
            for param, ref in (service.get("params") or {}).items()
        }
        assert documented == wired, f"docs/deploy.md: {name}'s --param list differs from serverless-compose.yml"
