"""Cold-start rules that a test can hold: API handlers never import Pillow, nor do the processing handlers that touch
no pixels (nor blurhash), no handler imports pydantic-settings, auth loads no e-mail validation library, retrieval
loads cryptography only to sign for the CDN, the error body's models wait for the first error, the Tracer patches
only boto (so nothing else is imported for X-Ray), and clients are made once per container; in Lambda, init runs
without cyclic garbage collection until the first invocation.
bench/cold_start.py measures the rest (each handler's init over the floor)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_SERVICES = ("auth", "upload", "retrieval")
API_HANDLERS = [
    (service, f"{path.parents[1].name}.handlers.{path.stem}")
    for service in API_SERVICES
    for path in sorted((ROOT / "services" / service).glob("imgplat_*/handlers/*.py"))
    if path.name != "__init__.py"
]
PROCESSING_HANDLERS = sorted(
    path.stem
    for path in (ROOT / "services" / "processing").glob("imgplat_processing/handlers/*.py")
    if path.name != "__init__.py"
)
IMAGE_STEP_HANDLERS = ("validate", "resize", "watermark")  # the only processing functions that work on pixels
IMAGE_LIBRARIES = ("PIL", "blurhash")


@pytest.mark.parametrize(("service", "module"), API_HANDLERS, ids=[module for _, module in API_HANDLERS])
def test_api_handler_import_leaves_pillow_out(service: str, module: str) -> None:
    # Given a fresh interpreter with only the service and the shared library on the path
    # When the handler module is imported
    imported = _libraries_imported_by(service, module, ["PIL"])
    # Then Pillow was not imported (it costs ~20 ms of every cold start and API handlers never touch pixels)
    assert imported == []


def test_every_api_service_has_handlers() -> None:
    assert {service for service, _ in API_HANDLERS} == set(API_SERVICES)


@pytest.mark.parametrize("handler", PROCESSING_HANDLERS)
def test_only_the_image_step_handlers_import_the_image_libraries(handler: str) -> None:
    # Given a fresh interpreter with only the processing service and the shared library on the path
    # When the handler module is imported
    imported = _libraries_imported_by("processing", f"imgplat_processing.handlers.{handler}", IMAGE_LIBRARIES)
    # Then Pillow and blurhash (~25 ms of a cold start) are loaded by the steps that work on pixels, and no other
    expected = list(IMAGE_LIBRARIES) if handler in IMAGE_STEP_HANDLERS else []
    assert imported == expected


def test_every_image_step_handler_exists() -> None:
    assert set(IMAGE_STEP_HANDLERS) < set(PROCESSING_HANDLERS)


EVERY_HANDLER = [
    (path.parents[2].name, f"{path.parents[1].name}.handlers.{path.stem}")
    for path in sorted(ROOT.glob("services/*/imgplat_*/handlers/*.py"))
    if path.name != "__init__.py"
]


@pytest.mark.parametrize(("service", "module"), EVERY_HANDLER, ids=[module for _, module in EVERY_HANDLER])
def test_no_handler_imports_pydantic_settings(service: str, module: str) -> None:
    # Given a fresh interpreter with only the service and the shared library on the path
    # When the handler module is imported
    imported = _libraries_imported_by(service, module, ["pydantic_settings", "dotenv"])
    # Then settings are read without pydantic-settings (and its dotenv), ~20 ms of a cold start over the floor
    assert imported == []


@pytest.mark.parametrize(
    "module", [module for service, module in API_HANDLERS if service == "retrieval"], ids=lambda module: module
)
def test_retrieval_handlers_load_cryptography_only_to_sign_for_the_cdn(module: str) -> None:
    # Given a fresh interpreter with the retrieval service, which signs with S3 unless a CDN is wired in
    # When a handler module is imported
    imported = _libraries_imported_by("retrieval", module, ["cryptography"])
    # Then cryptography (~25 ms) is not loaded: only a CloudFront signer, made on first use, needs it
    assert imported == []


@pytest.mark.parametrize("module", [module for service, module in API_HANDLERS if service == "auth"])
def test_auth_handlers_check_addresses_without_email_validator(module: str) -> None:
    # Given a fresh interpreter with the auth service, whose bodies carry e-mail addresses
    # When a handler module is imported (pydantic builds every body's validator then)
    imported = _libraries_imported_by("auth", module, ["email_validator", "dns", "idna"])
    # Then no e-mail validation library is loaded: the address's shape is checked by a regular expression, and
    # Cognito, which mails a code to it, is the authority on the rest
    assert imported == []


@pytest.mark.parametrize(
    "module", ["imgplat_retrieval.handlers.get_image", "imgplat_retrieval.handlers.list_images"], ids=lambda m: m
)
def test_retrieval_functions_that_never_publish_leave_the_event_models_out(module: str) -> None:
    # Given a fresh interpreter with the retrieval service, whose reads publish no event (only deletes do)
    # When a reading handler module is imported
    imported = _libraries_imported_by("retrieval", module, ["imgplat_common.image_events"])
    # Then the event models (pydantic builds each at import) are not loaded
    assert imported == []


def test_deleting_leaves_the_answers_and_the_format_negotiation_out() -> None:
    # Given a fresh interpreter with the retrieval service, whose delete answers 204 with no view of the image
    # When the delete handler module is imported
    imported = _libraries_imported_by(
        "retrieval",
        "imgplat_retrieval.handlers.delete_image",
        ["imgplat_retrieval.responses", "imgplat_retrieval.negotiation", "imgplat_retrieval.images"],
    )
    # Then the response models (pydantic builds each at import) and the negotiation are not loaded
    assert imported == []


@pytest.mark.parametrize(("service", "module"), API_HANDLERS, ids=[module for _, module in API_HANDLERS])
def test_api_handlers_build_the_error_body_models_on_the_first_error_only(service: str, module: str) -> None:
    # Given a fresh interpreter with an API service, whose answers are mostly not errors
    # When the handler module is imported
    imported = _libraries_imported_by(service, module, ["imgplat_common.error_models"])
    # Then the error body's models (pydantic builds each at import) are not loaded: the first error loads them
    assert imported == []


def test_the_rest_resolver_alone_already_loads_asyncio() -> None:
    # Given a fresh interpreter importing only the module of the REST resolver, as the floor's handler does
    code = (
        "import json, sys; from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver;"
        "print(json.dumps('asyncio' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Then asyncio is loaded (the package's __init__ imports every resolver, AppSync's with asyncio, and Python runs
    # it for any submodule): it is part of the floor, not ours. If this fails, Powertools stopped doing so, and the
    # handlers should import the resolver from its own module to leave asyncio out.
    assert json.loads(done.stdout) is True


def _python_path(service: str) -> str:
    """PYTHONPATH of a fresh interpreter that has only this service and the shared library, as its zip does."""
    return os.pathsep.join([str(ROOT / "libs" / "common" / "src"), str(ROOT / "services" / service)])


def _libraries_imported_by(service: str, module: str, libraries: Sequence[str]) -> list[str]:
    """Which of `libraries` a fresh interpreter has loaded once it imported `module` of `service`."""
    env = {
        **os.environ,
        "PYTHONPATH": _python_path(service),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r});"
        f"print(json.dumps([name for name in {list(libraries)!r} if name in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


LAMBDA_ENVIRONMENT = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "imgplat-upload-dev-create_upload",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "upload",
}


def test_tracer_patches_only_boto_and_imports_no_other_http_library() -> None:
    # Given the libraries X-Ray's patch_all would import, installed here (the dev venv has them, a Lambda zip not)
    others = [name for name in ("httpx", "requests") if importlib.util.find_spec(name)]
    if not others:
        pytest.skip("neither httpx nor requests is installed: nothing to prove")
    # And a fresh interpreter that looks like Lambda, so the Tracer is enabled and patches at import
    env = {
        **{name: value for name, value in os.environ.items() if name != "POWERTOOLS_TRACE_DISABLED"},
        **LAMBDA_ENVIRONMENT,
        "PYTHONPATH": _python_path("upload"),
    }
    # When an API handler module is imported
    code = (
        "import importlib, json, sys; importlib.import_module('imgplat_upload.handlers.create_upload');"
        "from aws_xray_sdk import global_sdk_config; from aws_xray_sdk.core import patcher;"
        "print(json.dumps({'patched': sorted(patcher._PATCHED_MODULES), 'enabled': global_sdk_config.sdk_enabled(),"
        f"'imported': [name for name in {others!r} if name in sys.modules]}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    # Then tracing is on, botocore alone is patched, and no other HTTP library was imported for it
    assert outcome == {"patched": ["botocore"], "enabled": True, "imported": []}


FIRST_INVOCATION = """
import gc, importlib, json, types
frozen_before = gc.get_freeze_count()  # the interpreter freezes a few objects of its own at start-up
module = importlib.import_module({module!r})
paused_after_import = not gc.isenabled()
context = types.SimpleNamespace(
    function_name="f", function_version="$LATEST", memory_limit_in_mb=256, aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", log_group_name="g", log_stream_name="s",
    get_remaining_time_in_millis=lambda: 30000,
)
try:
    module.handler({{}}, context)  # not a valid event: the invocation itself is what counts here
except Exception:
    pass
print(json.dumps({{"paused_after_import": paused_after_import, "collecting_after_first_invocation": gc.isenabled(),
                  "init_frozen": gc.get_freeze_count() > frozen_before}}))
"""


def _first_invocation(service: str, module: str, in_lambda: bool) -> dict[str, bool]:
    """Garbage collection's state in a fresh interpreter after importing the handler, and after its first call."""
    inherited = {name: value for name, value in os.environ.items() if name != "AWS_EXECUTION_ENV"}
    env = {
        **inherited,
        **(LAMBDA_ENVIRONMENT if in_lambda else {"AWS_DEFAULT_REGION": "us-east-1"}),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: a call to AWS fails at once, never leaves here
        "PYTHONPATH": _python_path(service),
    }
    code = FIRST_INVOCATION.format(module=module)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("service", "module"), EVERY_HANDLER, ids=[module for _, module in EVERY_HANDLER])
def test_in_lambda_init_runs_without_garbage_collection_until_the_first_invocation(service: str, module: str) -> None:
    # Given a fresh interpreter that looks like Lambda's runtime
    # When the handler module is imported, then invoked once (with an event it refuses: its wrapper runs first)
    state = _first_invocation(service, module, in_lambda=True)
    # Then the import ran with the collector off (a full collection at init walks everything and frees nothing),
    # and the first invocation froze what init made and, once it answered, turned collection back on
    assert state == {"paused_after_import": True, "collecting_after_first_invocation": True, "init_frozen": True}


def test_outside_lambda_importing_a_handler_leaves_garbage_collection_alone() -> None:
    # Given a fresh interpreter that is not Lambda's runtime (a test, the local platform)
    # When a handler module is imported and invoked
    state = _first_invocation("upload", "imgplat_upload.handlers.create_upload", in_lambda=False)
    # Then the collector was never turned off, and nothing was frozen
    assert state == {"paused_after_import": False, "collecting_after_first_invocation": True, "init_frozen": False}


def _decorator_names(function: ast.FunctionDef) -> set[str]:
    return {ast.unparse(decorator) for decorator in function.decorator_list}


@pytest.mark.parametrize("store", sorted(ROOT.glob("services/*/imgplat_*/store.py")), ids=lambda path: path.parts[-3])
def test_clients_are_made_once_per_container(store: Path) -> None:
    # Given a service's AWS adapter, the only module of the service that creates boto3 clients
    tree = ast.parse(store.read_text())
    creations = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {"boto3.client", "boto3.resource"}
    ]
    # Then every client or resource is made inside a function cached for the container's life, never per request
    cached = [
        function
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef) and _decorator_names(function) & {"cache", "functools.cache"}
    ]
    inside_cached = {id(node) for function in cached for node in ast.walk(function)}
    assert creations, f"{store}: no boto3 client found; is this still the adapter?"
    assert all(id(call) in inside_cached for call in creations), f"{store}: a boto3 client made outside a cache"


@pytest.mark.parametrize("store", sorted(ROOT.glob("services/*/imgplat_*/store.py")), ids=lambda path: path.parts[-3])
def test_stores_use_clients_and_never_boto3_resources(store: Path) -> None:
    # Given a service's AWS adapter
    calls = {ast.unparse(node.func) for node in ast.walk(ast.parse(store.read_text())) if isinstance(node, ast.Call)}
    # Then it makes no boto3 resource: loading a resource model and building its classes costs a cold start more
    # than the client it wraps (a table goes through imgplat_common.item_table.ItemTable instead)
    assert "boto3.resource" not in calls
