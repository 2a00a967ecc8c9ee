"""Package every service offline with `osls package` and check what went into the zips.

    python scripts/package_services.py [service ...]
    python scripts/package_services.py --examples     # the examples/ services (no code: templates only)
    python scripts/package_services.py retrieval --param snapStart=true --package-dir .serverless-snapstart

Params that compose would wire from other stacks get placeholder values here (packaging needs a value, not a real
resource), derived from serverless-compose.yml so the list cannot drift; an output that re-exports a param of its
stack (upload's MaxUploadBytes) gets that param's default, the value a deploy passes on. Fake credentials keep osls
offline. An example under examples/ takes a platform output as the param of the same name in lower camel case
(EventBusArn as eventBusArn), the way its README tells another team to deploy it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))  # also when this file is loaded by path (tests/test_templates.py)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lambda_bytecode import check_bytecode  # noqa: E402 - the sibling script that adds the bytecode checks it too

from local.serverless_files import compose, param_default, serverless_config  # noqa: E402 - after the repo root is importable

MAX_ZIP_BYTES = 15 * 1024 * 1024
SHOWN_PROBLEMS = 10  # bytecode problems listed per zip; the rest are counted

PARAM_VALUE = re.compile(r"^\$\{param:(\w+)\}$")


def param_outputs() -> dict[str, str]:
    """Outputs whose value is one of their stack's params (upload's MaxUploadBytes): that param's default, as text
    (a stack output always is), so a consumer packaged here gets the value a deploy would pass it."""
    values = {}
    for name in compose_services():
        config = serverless_config(name)
        for output, definition in (config["resources"].get("Outputs") or {}).items():
            if match := PARAM_VALUE.match(str(definition["Value"])):
                values[output] = str(param_default(name, match.group(1)))
    return values


# What each producing output looks like (ARN vs name): a placeholder of the same kind as the real value.
RESOURCE_PLACEHOLDERS = {
    "UserPoolArn": "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_placeholder",
    "AlarmTopicArn": "arn:aws:sns:us-east-1:000000000000:placeholder-alarms",
    "WebAclArn": "arn:aws:wafv2:us-east-1:000000000000:regional/webacl/placeholder/"
    "00000000-0000-0000-0000-000000000000",
    "KmsKeyArn": "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000",
    "OriginalsBucketName": "placeholder-originals",
    "RenditionsBucketName": "placeholder-renditions",
    "ImagesTableName": "placeholder-images",
    "ImagesTableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/placeholder-images",
    "IngestQueueArn": "arn:aws:sqs:us-east-1:000000000000:placeholder-ingest",
    "IngestDlqName": "placeholder-ingest-dlq",
    "EventBusName": "placeholder-events",
    "EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/placeholder-events",
    "CdnBaseUrl": "https://placeholder.cloudfront.net",
    "PublicKeyId": "KPLACEHOLDER0000",
    # A re-exported param, but its default names the stage (${sls:stage}), which only the framework resolves.
    "SigningKeyParameterName": "/imgplat/placeholder/delivery/signing-private-key",
}


# What every zip must ship as imgplat_common: the library as it is in this tree, module for module, and its trimmed
# botocore models (imgplat_common/botocore_models.py), file for file.
COMMON_FILE_TYPES = (".py", ".json")
COMMON_SOURCES = {
    path.relative_to(ROOT / "libs" / "common" / "src" / "imgplat_common").as_posix(): path.read_bytes()
    for path in (ROOT / "libs" / "common" / "src" / "imgplat_common").rglob("*")
    if path.suffix in COMMON_FILE_TYPES and "__pycache__" not in path.parts
}


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    return services


# Every output some service consumes through compose: the re-exported params, and the resource placeholders (which
# win where an output is both).
PLACEHOLDER_OUTPUTS = {**param_outputs(), **RESOURCE_PLACEHOLDERS}


# What an operator gives delivery (its signing public key, docs/deploy.md), here in the environment, where compose
# packaging finds it too.
OPERATOR_ENVIRONMENT = {"IMGPLAT_CDN_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----placeholder-----END PUBLIC KEY-----"}


def placeholder_params(service: dict[str, Any]) -> list[str]:
    """`--param name=value` for every param compose would pass to this service."""
    args = []
    for param, reference in (service.get("params") or {}).items():
        output = str(reference).strip("${}").split(".", 1)[1]
        args.append(f"--param={param}={PLACEHOLDER_OUTPUTS[output]}")
    return args


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent), env["PATH"]])
    # osls needs credentials to exist, never to work: packaging makes no AWS call.
    env.setdefault("AWS_ACCESS_KEY_ID", "packaging-only")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "packaging-only")
    env.setdefault("AWS_REGION", "us-east-1")
    for name, placeholder in OPERATOR_ENVIRONMENT.items():
        env.setdefault(name, placeholder)
    env["SLS_TELEMETRY_DISABLED"] = "1"
    env["SLS_NOTIFICATIONS_MODE"] = "off"
    return env


def packaged_runtime(package_dir: Path) -> str:
    """The functions' Lambda runtime (python3.12), as the framework resolved it for the package just made."""
    state = json.loads((package_dir / "serverless-state.json").read_text())
    return str(state["service"]["provider"]["runtime"])


def check_zips(name: str, package_dir: Path) -> list[str]:
    """Problems with the service's zips: missing or stale shared library or bytecode, tests shipped, too large."""
    problems = []
    zips = sorted(package_dir.glob("*.zip"))
    if not serverless_config(name).get("functions"):
        return [f"{name}: has no functions but produced {len(zips)} zips"] if zips else []
    if not zips:
        return [f"{name}: no zip produced"]
    runtime = packaged_runtime(package_dir)
    # A layer's zip (processing's heifDecoder) holds only its libraries: the functions' zips carry imgplat_common.
    layer_zips = {f"{layer}.zip" for layer in serverless_config(name).get("layers") or {}}
    for archive in zips:
        with zipfile.ZipFile(archive) as content:
            names = content.namelist()
            shipped_common = {
                n.removeprefix("imgplat_common/"): content.read(n)
                for n in names
                if n.startswith("imgplat_common/") and n.endswith(COMMON_FILE_TYPES)
            }
        size = archive.stat().st_size
        bytecode = check_bytecode(archive, runtime)
        print(
            f"  {archive.name}: {size / 1e6:.1f} MB, {len(names)} files, hash-based bytecode for {bytecode.compiled}"
            f" of {bytecode.sources} modules ({len(bytecode.not_compilable)} do not compile)"
        )
        # Without it every cold start compiles each imported module from source (docs/deploy.md: Bytecode).
        problems += [f"{archive}: {problem}" for problem in bytecode.problems[:SHOWN_PROBLEMS]]
        if len(bytecode.problems) > SHOWN_PROBLEMS:
            hidden = len(bytecode.problems) - SHOWN_PROBLEMS
            problems.append(f"{archive}: ... and {hidden} more modules without valid bytecode")
        is_layer = archive.name in layer_zips
        if not shipped_common and not is_layer:
            problems.append(f"{archive}: libs/common (imgplat_common) is missing")
        elif shipped_common and shipped_common != COMMON_SOURCES:
            stale = sorted(set(shipped_common) ^ set(COMMON_SOURCES)) or [
                module for module, text in shipped_common.items() if COMMON_SOURCES.get(module) != text
            ]
            problems.append(f"{archive}: imgplat_common differs from libs/common (stale copy?): {', '.join(stale)}")
        if any(n.startswith("tests/") or ("/tests/" in n and n.startswith("imgplat_")) for n in names):
            problems.append(f"{archive}: contains tests")
        if size > MAX_ZIP_BYTES:
            problems.append(f"{archive}: {size} bytes is over {MAX_ZIP_BYTES}")
    return problems


def example_params(example_dir: Path) -> list[str]:
    """`--param name=value` for every platform output the example uses as ${param:name}."""
    definition = (example_dir / "serverless.yml").read_text()
    params = []
    for output, value in PLACEHOLDER_OUTPUTS.items():
        param = output[0].lower() + output[1:]
        if f"${{param:{param}}}" in definition:
            params.append(f"--param={param}={value}")
    return params


def package_examples(stage: str) -> int:
    """`osls package` every example: a template for cfn-lint and checkov (examples ship no code, so no zips)."""
    failed = 0
    for example_dir in sorted(path.parent for path in (ROOT / "examples").glob("*/serverless.yml")):
        print(f"packaging example {example_dir.name} ...", flush=True)
        command = ["osls", "package", "--stage", stage, *example_params(example_dir)]
        result = subprocess.run(command, cwd=example_dir, env=tool_env(), capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
            print(f"PROBLEM: example {example_dir.name}: osls package failed ({result.returncode})")
            failed = 1
    return failed


@contextmanager
def default_package_kept(service_dir: Path, package_dir: str) -> Iterator[None]:
    """Package a variant without touching the default package: osls builds in the service's .serverless/ whatever
    --package says, so the default one is set aside and put back."""
    default = service_dir / ".serverless"
    if package_dir == ".serverless" or not default.exists():
        yield
        return
    kept = shutil.copytree(default, ROOT / ".cache" / f"{service_dir.name}-default-package", dirs_exist_ok=True)
    try:
        yield
    finally:
        shutil.rmtree(default, ignore_errors=True)
        shutil.move(kept, default)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help="services to package (default: all in serverless-compose.yml)")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--examples", action="store_true", help="package the examples/ services instead")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a stage param to set (e.g. snapStart=true)"
    )
    parser.add_argument(
        "--package-dir", default=".serverless", help="where in the service folder the package goes (a variant's)"
    )
    args = parser.parse_args()
    if args.examples:
        return package_examples(args.stage)
    services = compose_services()
    chosen = args.services or list(services)
    problems: list[str] = []
    for index, name in enumerate(chosen, 1):
        service_dir = ROOT / services[name]["path"]
        started = time.monotonic()
        print(f"[{index}/{len(chosen)}] packaging {name} ...", flush=True)
        package_dir = service_dir / args.package_dir
        command = ["osls", "package", "--stage", args.stage, *placeholder_params(services[name])]
        command += [f"--param={param}" for param in args.param]
        if args.package_dir != ".serverless":
            command += ["--package", str(package_dir)]
        with default_package_kept(service_dir, args.package_dir):
            result = subprocess.run(command, cwd=service_dir, env=tool_env(), capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
            problems.append(f"{name}: osls package failed ({result.returncode})")
            continue
        print(f"  done in {time.monotonic() - started:.0f} s")
        problems += check_zips(name, package_dir)
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
