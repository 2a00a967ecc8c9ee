"""Cold start of every Lambda handler: its init time over the floor, in fresh processes on one CPU, and the zips.

    python bench/cold_start.py [--runs 21] [--cpu N]      # or: make bench-cold-start (~7 minutes)
    python bench/cold_start.py --only retrieval --runs 63  # some handlers only, more rounds for a narrower interval

Init = importing the handler module + creating the clients its function makes on first use: every cached,
argument-free factory in imgplat_<svc>.store whose client is of an AWS service the function's IAM role may call
(serverless.yml iamRoleStatements; a probe run names each factory's service), and every factory that makes no
client itself (a store, a signer: they make what they need). A client the function's role cannot use is one it
never makes; auth's Cognito user-pool calls need no IAM, and its client comes from such a store factory.

The floor, measured in the same run and the same way, is a handler built the platform's way with no code of ours:
boto3, Powertools' Logger/Metrics/Tracer (boto patched), one pydantic model, a validating REST resolver with one
route, one client made. What a handler costs over it is ours, and that is the headline: per round, handler init
minus floor init, median over --runs rounds, with a 90% interval of that median (bootstrap over the rounds: on a host
whose speed moves by tens of ms from one process to the next, 21 rounds place a median to about +-15 ms, and the
bench names the handlers whose target lies inside their interval). Beside it, the same in CPU time (user + system
of the process): on a machine shared with other work the wall clock also counts the wait for the CPU, the CPU time
much less so. Every measure is a fresh interpreter (its start-up excluded, the same for all); each round measures
every handler once, in a shuffled order, each right after a floor of its own, and the pair's difference is the
round's figure, so a slow moment of the machine (its speed drifts over seconds on a shared host) counts against
floor and handler alike.
Every process is pinned to one CPU (--cpu, default the last this process may use), as a function at the platform's
memory sizes has one vCPU.

Garbage collection: in Lambda it is off from the handlers package's import until the first invocation has answered,
which freezes what init made when it begins (imgplat_common/cold_start.py, the handler's @ends_cold_start). The
measure does the same around the clients' creation; the floor, which has no code of ours, collects as Python does.

Botocore models: our handlers' clients load trimmed copies of botocore's service models (imgplat_common/
botocore_models.py: the same models with their documentation texts emptied, shipped in every zip), the floor's client
loads botocore's own, as any handler's would. A third floor, measured once per round, makes its S3 client from the
trimmed model, so the line under the floor says how much of a handler's figure that saves on the one client all have.

Every process, the floor's and the handlers', gets the environment a real Lambda function has: LAMBDA_TASK_ROOT,
AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_EXECUTION_ENV=AWS_Lambda_python3.12, the X-Ray
variables (tracing is on, as deployed: Powertools' Tracer patches at import, and aws_xray_sdk picks its Lambda
sampler instead of one that creates X-Ray clients), plus the environment block of the function in its service's
serverless.yml (provider + function), with ${param:...} taken from the service's default params and references to
other resources (Ref, compose outputs) as placeholder names. So settings load and every factory it uses really runs;
a factory that still fails is reported (and counts as a miss: its client's cost was not measured).

Bytecode: every module runs from compiled bytecode, ours as much as the libraries' (PYTHONPYCACHEPREFIX points at a
temporary directory that the warm-up round fills), so compiling our sources (never cached in this tree) is not counted
against us. The deployed zips carry the same: checked-hash bytecode for every module (scripts/osls-plugin-bytecode.js).

Zip sizes come from `osls package` (scripts/package_services.py runs it when a zip is missing).
Targets over the floor: API handlers <= +20 ms and no Pillow import; processing handlers <= +40 ms; zips <= 15 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The services' own definitions, read one way, and the environment Lambda gives their functions.
from local.lambda_runtime import (  # noqa: E402
    declared_environment,
    environment_from_defaults,
    function_memory_mb,
    handler_module,
    runtime_variables,
)
from local.serverless_files import serverless_config  # noqa: E402

API_SERVICES = ("auth", "upload", "retrieval")
API_TARGET_MS, PROCESSING_TARGET_MS = 20.0, 40.0  # init over the floor
MAX_ZIP_MB = 15.0
STAGE = "dev"

# The yardstick: what any handler following the platform's conventions costs before any code of ours runs. Powertools
# and pydantic defer most of their cost to first use, so the floor uses each once, as every handler does.
FLOOR_INIT = """
import time
started, started_cpu = time.perf_counter(), time.process_time()
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel
logger, metrics, tracer = Logger(), Metrics(), Tracer(patch_modules=("boto3", "botocore"))
class Body(BaseModel):
    name: str
app = APIGatewayRestResolver(enable_validation=True)
def create(body: Body) -> dict:
    return {}
app.post("/things")(create)
imported = time.perf_counter()
"""
FLOOR_CLIENT = """
boto3.client("s3")
failed_factories = []
"""
FLOOR = FLOOR_INIT + FLOOR_CLIENT

# The floor with garbage collection paused as our handlers pause it (imgplat_common/cold_start.py): how much of a
# handler's figure that pause saves, printed beside the floor so a handler under the floor is read right.
FLOOR_PAUSED = "import gc\ngc.disable()\n" + FLOOR_INIT + "gc.freeze()\n" + FLOOR_CLIENT + "gc.enable()\n"

# The floor whose S3 client loads the trimmed botocore model our handlers load (imgplat_common/botocore_models.py):
# how much of a handler's figure the trimmed models save on the one client every handler has, printed the same way.
FLOOR_TRIMMED = (
    FLOOR_INIT + "from imgplat_common.botocore_models import use_trimmed_models\nuse_trimmed_models()\n" + FLOOR_CLIENT
)
FLOOR_VARIANTS = {"paused": FLOOR_PAUSED, "trimmed": FLOOR_TRIMMED}

HANDLER = """
import time
started, started_cpu = time.perf_counter(), time.process_time()
import importlib
module = importlib.import_module({module!r})
imported = time.perf_counter()
# The first invocation, as the handler's @ends_cold_start runs it: init frozen, the clients made, collection back on.
cold_start = importlib.import_module("imgplat_common.cold_start")
cold_start.freeze_init()
store = importlib.import_module({store!r})
failed_factories = []
for name in {factories!r}:
    try:
        getattr(store, name)()
    except Exception as error:  # reported: the measure then lacks this client's creation
        failed_factories.append(f"{{name}} ({{type(error).__name__}}: {{error}})")
cold_start.resume_garbage_collection()
"""

# Run once per handler before measuring: every cached, argument-free factory of the store, and the AWS service (IAM
# prefix) of what it makes, or None for what is not a client (a store, a signer).
FACTORY_PROBE = """
import importlib, inspect, json
store = importlib.import_module({store!r})
services = {{}}
for name, factory in inspect.getmembers(store, lambda member: hasattr(member, "cache_info")):
    if not inspect.signature(factory).parameters:
        made = factory()
        model = getattr(getattr(made, "meta", None), "service_model", None)  # a client's, not a store's
        services[name] = model.signing_name if model else None
print(json.dumps(services))
"""

REPORT = """
import json, sys
done, done_cpu = time.perf_counter(), time.process_time()
print(json.dumps({"import_ms": (imported - started) * 1000, "init_ms": (done - started) * 1000,
                  "init_cpu_ms": (done_cpu - started_cpu) * 1000,
                  "pil": "PIL" in sys.modules, "failed_factories": failed_factories}))
"""


def handler_modules() -> list[tuple[str, str]]:
    """(service, dotted module) of every handler module."""
    found = []
    for path in sorted(ROOT.glob("services/*/imgplat_*/handlers/*.py")):
        if path.name != "__init__.py":
            service = path.parents[2].name
            found.append((service, f"{path.parents[1].name}.handlers.{path.stem}"))
    return found


def iam_services(service: str) -> dict[str, set[str]]:
    """Handler module -> the AWS services (IAM action prefixes) its function's role may call."""
    config = serverless_config(service)
    shared = (((config.get("provider") or {}).get("iam") or {}).get("role") or {}).get("statements") or []
    found = {}
    for function in (config.get("functions") or {}).values():
        statements = [*shared, *(function.get("iamRoleStatements") or [])]
        actions = [action for statement in statements for action in _as_list(statement.get("Action"))]
        found[handler_module(function["handler"])] = {str(action).split(":")[0] for action in actions}
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def factories_used(store: str, env: dict[str, str], allowed: set[str]) -> list[str]:
    """The store's factories a function whose role may call `allowed` makes: clients of those services and every
    factory that makes no client itself."""
    services: dict[str, str | None] = measure_once(FACTORY_PROBE.format(store=store), env, report=False)
    return [name for name, service in services.items() if service is None or service in allowed]


def lambda_functions(service: str) -> dict[str, dict[str, str]]:
    """Handler module -> the variables its function gets in Lambda (serverless.yml provider + function)."""
    config = serverless_config(service)
    functions = {}
    for key, function in (config.get("functions") or {}).items():
        name = f"{config['service']}-{STAGE}-{key}"
        functions[handler_module(function["handler"])] = {
            **runtime_variables(name, function_memory_mb(config, key)),
            **environment_from_defaults(config, key, stage=STAGE, resources=parameter_defaults(config, key)),
        }
    return functions


def parameter_defaults(config: dict[str, Any], function_key: str) -> dict[str, str]:
    """Variables that Ref one of the template's Parameters take its default, a placeholder being no valid value
    (auth's MFA: "off" or "optional"). A `${param:x}` default takes the service's default param."""
    parameters = (config.get("resources") or {}).get("Parameters") or {}
    params = (config.get("params") or {}).get("default") or {}
    found = {}
    for variable, value in declared_environment(config, function_key).items():
        if isinstance(value, dict) and (default := parameters.get(value.get("Ref"), {}).get("Default")) is not None:
            param = re.fullmatch(r"\$\{param:(\w+)\}", str(default))
            found[variable] = str(params[param.group(1)]) if param else str(default)
    return found


def environment(service: str | None, function_variables: dict[str, str], pycache: str) -> dict[str, str]:
    """The environment of a Lambda function (python3.12) running this service's code, with fake credentials."""
    inherited = ("AWS_", "POWERTOOLS_", "_X_", "PYTHONDONTWRITEBYTECODE")
    env = {name: value for name, value in os.environ.items() if not name.startswith(inherited)}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            **runtime_variables("floor", 256),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
            "POWERTOOLS_SERVICE_NAME": service or "floor",
            "PYTHONPYCACHEPREFIX": pycache,
            **function_variables,
        }
    )
    paths = [str(ROOT / "libs" / "common" / "src")] + ([str(ROOT / "services" / service)] if service else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def measure_once(code: str, env: dict[str, str], report: bool = True) -> dict[str, Any]:
    """One fresh interpreter's figures (or, report=False, the JSON its code prints last)."""
    done = subprocess.run(
        [sys.executable, "-c", code + (REPORT if report else "")], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs, Pillow if any run imported it, every distinct factory failure."""
    return {
        "import_ms": statistics.median(s["import_ms"] for s in samples),
        "init_ms": statistics.median(s["init_ms"] for s in samples),
        "init_cpu_ms": statistics.median(s["init_cpu_ms"] for s in samples),
        "pil": any(s["pil"] for s in samples),
        "failed_factories": sorted({failure for s in samples for failure in s["failed_factories"]}),
    }


def median_interval(differences: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A 90% interval of the median of `differences` (bootstrap): how far this run's figure could be from one
    measured with many more rounds, on a machine whose speed moves by tens of ms from one process to the next."""
    chooser = random.Random(0)  # noqa: S311 - a resampling, not a secret
    medians = sorted(statistics.median(chooser.choices(differences, k=len(differences))) for _ in range(resamples))
    return medians[int(0.05 * resamples)], medians[int(0.95 * resamples) - 1]


def services_with_zips() -> list[str]:
    """The services `osls package` makes a zip for: those with functions (delivery is CloudFront only)."""
    services = (path.parent.name for path in ROOT.glob("services/*/serverless.yml"))
    return sorted(service for service in services if serverless_config(service).get("functions"))


def zip_sizes() -> dict[str, float]:
    services = services_with_zips()
    missing = [service for service in services if not list((ROOT / "services" / service).glob(".serverless/*.zip"))]
    if missing:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "package_services.py"), *missing], check=True)
    return {
        _zip_label(service, zip_path): zip_path.stat().st_size / 1e6
        for service in services
        for zip_path in sorted((ROOT / "services" / service).glob(".serverless/*.zip"))
    }


def _zip_label(service: str, zip_path: Path) -> str:
    """The service's own zip is imgplat-<service>.zip; any other is one of its layers' (processing's heifDecoder)."""
    return service if zip_path.stem == f"imgplat-{service}" else f"{service} layer {zip_path.stem}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="rounds of fresh processes (median reported)")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)), help="the one CPU every process uses")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="measure only the handlers whose module contains TEXT (repeatable; no zip sizes then)",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})  # inherited by every measured process
    with tempfile.TemporaryDirectory(prefix="cold-start-pycache-") as pycache:
        report(args.runs, args.cpu, pycache, args.only)


Measures = dict[str, list[dict[str, Any]]]  # handler module -> one measure per round


def report(runs: int, cpu: int, pycache: str, only: list[str]) -> None:
    """Measure, print the table and the verdict."""
    floor_env = environment(None, {}, pycache)
    handlers = []
    clients_made = {}
    for service, module in handler_modules():
        if only and not any(text in module for text in only):
            continue
        env = environment(service, lambda_functions(service).get(module, {}), pycache)
        store = f"{module.split('.')[0]}.store"
        clients_made[module] = factories_used(store, env, iam_services(service).get(module, set()))
        code = HANDLER.format(module=module, store=store, factories=clients_made[module])
        handlers.append((service, module, code, env))
    samples, floors, variants = measure_rounds(runs, handlers, floor_env)
    floor = summary([sample for paired in floors.values() for sample in paired])
    paused_floor, trimmed_floor = summary(variants["paused"]), summary(variants["trimmed"])

    print(
        f"{runs} rounds of fresh processes, each handler right after a floor, pinned to CPU {cpu} of {os.cpu_count()}"
    )
    print(
        f"floor (boto3, Logger/Metrics/Tracer patching boto, one pydantic model, a validating REST resolver, one "
        f"client; no code of ours): {floor['init_ms']:.0f} ms\n"
    )
    print(f"floor in CPU time: {floor['init_cpu_ms']:.0f} ms\n")
    print(
        f"the floor with garbage collection paused as our handlers pause it: {paused_floor['init_ms']:.0f} ms "
        f"(the pause alone saves {floor['init_ms'] - paused_floor['init_ms']:.0f} ms of the floor)"
    )
    print(
        f"the floor with its S3 client made from the trimmed botocore model our handlers load: "
        f"{trimmed_floor['init_ms']:.0f} ms (the trimmed model alone saves "
        f"{floor['init_ms'] - trimmed_floor['init_ms']:.0f} ms of the floor)\n"
    )
    print(
        "| handler | init ms | x floor | over floor ms | 90% interval | over floor CPU ms | target | Pillow imported "
        "| ok |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    failures, failed_factories, undecided = [], [], []
    for service, module, _, _ in handlers:
        figures = summary(samples[module])
        # Paired per round, so a slow moment of the machine counts against floor and handler alike.
        differences, cpu_differences = (
            [
                handler[figure] - reference[figure]
                for handler, reference in zip(samples[module], floors[module], strict=True)
            ]
            for figure in ("init_ms", "init_cpu_ms")
        )
        over_floor, over_floor_cpu = statistics.median(differences), statistics.median(cpu_differences)
        low, high = median_interval(differences)
        target = API_TARGET_MS if service in API_SERVICES else PROCESSING_TARGET_MS
        ok = (
            over_floor <= target
            and not (service in API_SERVICES and figures["pil"])
            and not figures["failed_factories"]
        )
        failures += [] if ok else [f"{module} ({over_floor - target:+.0f} ms)"]
        undecided += [module] if low <= target < high else []
        failed_factories += [f"{module}: {failure}" for failure in figures["failed_factories"]]
        print(
            f"| {module} | {figures['init_ms']:.0f} | {figures['init_ms'] / floor['init_ms']:.2f} | "
            f"**{over_floor:+.0f}** | {low:+.0f} to {high:+.0f} | {over_floor_cpu:+.0f} | <= +{target:.0f} | "
            f"{'yes' if figures['pil'] else 'no'} | {'yes' if ok else 'NO'} |"
        )
    if undecided:
        print(
            f"\nwithin the noise of this run (the target inside the 90% interval; more --runs narrow it): "
            f"{', '.join(undecided)}"
        )
    print("\nfactories each function runs (its clients, by its IAM role):")
    print("\n".join(f"- {module}: {', '.join(names)}" for module, names in clients_made.items()))
    if failed_factories:
        print("\nclient factories that failed (their clients were not created):")
        print("\n".join(f"- {failure}" for failure in failed_factories))
    if not only:
        failures += report_zip_sizes()
    print(f"\n{'all targets met' if not failures else 'over target: ' + ', '.join(failures)}")


def measure_rounds(
    runs: int, handlers: list[tuple[str, str, str, dict[str, str]]], floor_env: dict[str, str]
) -> tuple[Measures, Measures, Measures]:
    """Each handler's measures, the floor measured right before each, and each variant of the floor (FLOOR_VARIANTS)
    once per round."""
    # Warm-up round, not counted: compiles every module into the bytecode cache and warms the OS file cache for all.
    measure_once(FLOOR, floor_env)
    for code in FLOOR_VARIANTS.values():
        measure_once(code, floor_env)
    for _, _, code, env in handlers:
        measure_once(code, env)
    # Each handler is measured right after a floor of its own, in a new order every round: the machine's speed drifts
    # over seconds (other tenants of the host), and a floor taken seconds earlier would not share the handler's moment.
    samples: Measures = {module: [] for _, module, _, _ in handlers}
    floors: Measures = {module: [] for _, module, _, _ in handlers}
    shuffler = random.Random(0)  # noqa: S311 - an order of measurement, not a secret
    variants: Measures = {name: [] for name in FLOOR_VARIANTS}
    for round_number in range(1, runs + 1):
        print(f"round {round_number}/{runs} ...", file=sys.stderr, flush=True)
        for name, code in FLOOR_VARIANTS.items():
            variants[name].append(measure_once(code, floor_env))
        for _, module, code, env in shuffler.sample(handlers, len(handlers)):
            floors[module].append(measure_once(FLOOR, floor_env))
            samples[module].append(measure_once(code, env))
    return samples, floors, variants


def report_zip_sizes() -> list[str]:
    """Print every service's zips; the ones over the limit."""
    print("\n| service zip | MB | <= 15 MB |")
    print("|---|---|---|")
    too_large = []
    for service, megabytes in zip_sizes().items():
        too_large += [] if megabytes <= MAX_ZIP_MB else [f"{service} zip"]
        print(f"| {service} | {megabytes:.1f} | {'yes' if megabytes <= MAX_ZIP_MB else 'NO'} |")
    return too_large


if __name__ == "__main__":
    main()
