"""The services meet only through exported resources, wired by compose, without cycles, as documented."""

import json
import re
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from typing import Any

import pytest

from local.lambda_runtime import function_logical_id
from local.serverless_files import (
    ROOT,
    compose,
    parse_yaml,
    serverless_config,
    service_dir,
    service_names,
    shared_fragments,
)

PARAM_REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\}$")


def _code_services() -> list[str]:
    """The services with Lambda functions (delivery is a CloudFront distribution: no code, no requirements)."""
    return [name for name in service_names() if serverless_config(name).get("functions")]


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


def test_deploy_order_has_no_cycles_and_is_auth_upload_processing_delivery_retrieval():
    try:
        order = list(TopologicalSorter(_dependencies()).static_order())
    except CycleError as cycle:  # pragma: no cover - the assertion message is the point
        pytest.fail(f"compose dependencies form a cycle: {cycle}")
    assert order == ["auth", "upload", "processing", "delivery", "retrieval"]


def test_every_consumed_param_is_used_and_every_used_param_is_wired():
    for name in service_names():
        config = serverless_config(name)
        # The resolved config: a param may be used only in a shared fragment (userPoolArn in the Cognito authorizer).
        used = set(re.findall(r"\$\{param:(\w+)", json.dumps(config)))
        defaults = set((config.get("params") or {}).get("default") or {})
        wired = set(compose()["services"][name].get("params") or {})
        assert wired <= used, f"{name}: compose passes params the service never uses: {wired - used}"
        # `${param:x, null}` is optional on purpose: unset, the settings model's default applies.
        required = set(re.findall(r"\$\{param:(\w+)\}", json.dumps(config)))
        unset = required - wired - defaults
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
    for name in _code_services():
        requirements = (service_dir(name) / "requirements.txt").read_text().split()
        assert "../../libs/common" in requirements
        assert not any("services/" in line for line in requirements)


def test_dev_requirements_pin_the_same_versions_as_the_services():
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    for name in _code_services():
        # The zip's requirements and those of each layer the service fills (custom.layerRequirements).
        layer_files = (serverless_config(name).get("custom") or {}).get("layerRequirements") or {}
        files = [service_dir(name) / "requirements.txt", *(service_dir(name) / f for f in layer_files.values())]
        for requirements in files:
            for line in requirements.read_text().splitlines():
                if "==" in line and not line.startswith("#"):
                    assert line.strip() in (d.strip() for d in dev), f"{requirements} pins {line}, dev does not"


def test_the_processing_layer_pins_pillow_heif():
    layer_files = serverless_config("processing")["custom"]["layerRequirements"]
    assert "pillow-heif==1.8.1" in (service_dir("processing") / layer_files["heifDecoder"]).read_text().splitlines()


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


# Blocks every service declares alike come from services/shared/ (${file(../shared/...)}): where each one goes.
FRAGMENTS_OF_EVERY_SERVICE = {
    ("custom", "pythonRequirements"): "${file(../shared/python-requirements.yml)}",
    ("custom", "vpcByMode"): "${file(../shared/vpc-by-mode.yml)}",
    ("provider", "deploymentBucket"): "${file(../shared/deployment-bucket.yml):settings}",
    ("resources", "extensions", "ServerlessDeploymentBucket"): "${file(../shared/deployment-bucket.yml):extension}",
}
# A service without functions packages no Python and joins no VPC: it takes the deployment bucket's blocks only.
FRAGMENTS_OF_SERVICES_WITHOUT_FUNCTIONS = {
    path: reference for path, reference in FRAGMENTS_OF_EVERY_SERVICE.items() if "deployment-bucket" in reference
}
XRAY_STATEMENT = "${file(../shared/iam-statements.yml):xray}"
FUNCTION_SKIPS = [
    "${file(../shared/checkov-function-skips.yml):noVpc}",
    "${file(../shared/checkov-function-skips.yml):plainEnvironment}",
]
API_GATEWAY_FRAGMENTS = "${file(../shared/api-gateway.yml):"


def _as_written(name: str) -> dict[str, Any]:
    """serverless.yml before ${file(...)} is resolved: shows whether a block is a reference or written inline."""
    config: dict[str, Any] = parse_yaml(service_dir(name) / "serverless.yml")
    return config


def _values_within(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        yield from _values_within(child)


def test_every_service_takes_the_shared_blocks_from_the_fragments():
    for name in service_names():
        config = _as_written(name)
        has_functions = name in _code_services()
        fragments = FRAGMENTS_OF_EVERY_SERVICE if has_functions else FRAGMENTS_OF_SERVICES_WITHOUT_FUNCTIONS
        for path, reference in fragments.items():
            value: Any = config
            for key in path:
                value = value[key]
            assert value == reference, f"{name}: {'.'.join(path)} must be {reference}"


def test_every_function_takes_the_shared_xray_statement_and_checkov_skips():
    for name in service_names():
        config = _as_written(name)
        extensions = config["resources"]["extensions"]
        for function, definition in config["functions"].items():
            assert XRAY_STATEMENT in definition["iamRoleStatements"], f"{name}.{function}: {XRAY_STATEMENT}"
            skips = extensions[function_logical_id(function)]["Metadata"]["checkov"]["skip"]
            assert all(skip in skips for skip in FUNCTION_SKIPS), f"{name}.{function}: skips {FUNCTION_SKIPS}"


def test_every_api_takes_its_authorizer_and_gateway_responses_from_the_fragment():
    for name in service_names():
        config = _as_written(name)
        for logical_id, resource in config["resources"]["Resources"].items():
            is_api_piece = logical_id == "ApiGatewayAuthorizer" or logical_id.startswith("GatewayResponse")
            assert not is_api_piece or str(resource).startswith(API_GATEWAY_FRAGMENTS), f"{name}: {logical_id}"
        for function, definition in config["functions"].items():
            for event in definition.get("events") or []:
                authorizer = (event.get("http") or {}).get("authorizer")
                assert authorizer is None or str(authorizer).startswith(API_GATEWAY_FRAGMENTS), f"{name}.{function}"


def test_no_service_writes_a_shared_fragment_block_inline():
    fragments = {path.name: parse_yaml(path) for path in shared_fragments()}
    blocks = [(f"${{file(../shared/{file})}}", content) for file, content in fragments.items()]
    blocks += [
        (f"${{file(../shared/{file}):{key}}}", value)
        for file, content in fragments.items()
        for key, value in content.items()
        if isinstance(value, dict | list)  # blocks, not single settings such as slim: true
    ]
    for name in service_names():
        for value in _values_within(_as_written(name)):
            for fragment, block in blocks:
                assert value != block, f"{name} writes a shared block inline: use {fragment}"
            actions = value.get("Action") if isinstance(value, dict) else None
            assert not any(str(action).startswith("xray:") for action in actions or []), (
                f"{name} writes an X-Ray statement inline: use {XRAY_STATEMENT}"
            )


def test_retrieval_takes_the_cdn_from_delivery_or_serves_s3_pre_signed_urls_without_it():
    # Given compose wiring delivery's three outputs into retrieval, and delivery taking processing's bucket
    retrieval = compose()["services"]["retrieval"]["params"]
    assert {name: retrieval[name] for name in ("cdnBaseUrl", "cdnKeyPairId", "cdnPrivateKeyParameter")} == {
        "cdnBaseUrl": "${delivery.CdnBaseUrl}",
        "cdnKeyPairId": "${delivery.PublicKeyId}",
        "cdnPrivateKeyParameter": "${delivery.SigningKeyParameterName}",
    }
    assert compose()["services"]["delivery"]["params"] == {"renditionsBucketName": "${processing.RenditionsBucketName}"}
    # Then retrieval reads them as optional params (unset without delivery: the settings' S3 mode applies)
    environment = serverless_config("retrieval")["provider"]["environment"]
    assert environment["CDN_BASE_URL"] == "${param:cdnBaseUrl, null}"
    assert environment["CDN_KEY_PAIR_ID"] == "${param:cdnKeyPairId, null}"
    assert environment["CDN_PRIVATE_KEY_PARAMETER"] == "${param:cdnPrivateKeyParameter, null}"


def test_processing_takes_the_upload_size_cap_from_upload_through_compose():
    # Given the cap declared once, by upload, and exported as a stack output
    upload = serverless_config("upload")
    assert "maxUploadBytes" in upload["params"]["default"]
    assert upload["resources"]["Outputs"]["MaxUploadBytes"]["Value"] == "${param:maxUploadBytes}"
    # Then processing declares no value of its own: compose passes upload's output
    processing = serverless_config("processing")
    assert "maxUploadBytes" not in processing["params"]["default"]
    assert compose()["services"]["processing"]["params"]["maxUploadBytes"] == "${upload.MaxUploadBytes}"
    # And both services' functions read that one param
    assert upload["functions"]["create_upload"]["environment"]["MAX_UPLOAD_BYTES"] == "${param:maxUploadBytes}"
    assert processing["provider"]["environment"]["MAX_UPLOAD_BYTES"] == "${param:maxUploadBytes}"
