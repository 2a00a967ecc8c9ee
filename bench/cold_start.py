"""Cold start of every Lambda handler: init time in fresh processes beside a baseline, and the deployment zips.

    python bench/cold_start.py [--runs 7]          # or: make bench-cold-start

Init = importing the handler module + creating the clients its service's store makes on first use (every cached,
argument-free client factory in imgplat_<svc>.store: an upper bound for one handler). The baseline, measured in the
same run and the same way, is a bare module that imports boto3, Powertools (Logger, Tracer, Metrics) and pydantic
and creates one client. Each figure is the median over --runs fresh interpreters (interpreter start-up excluded,
the same for all). Zip sizes come from `osls package` (scripts/package_services.py runs it when a zip is missing).
Targets: API handlers <= 1.15x baseline and no Pillow import; processing handlers <= 1.3x; every zip <= 15 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_SERVICES = ("auth", "upload", "retrieval")
API_TARGET, PROCESSING_TARGET = 1.15, 1.3
MAX_ZIP_MB = 15.0

BASELINE = """
import time
started = time.perf_counter()
import boto3, pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
imported = time.perf_counter()
boto3.client("s3")
"""

HANDLER = """
import time
started = time.perf_counter()
import importlib, inspect
module = importlib.import_module({module!r})
imported = time.perf_counter()
store = importlib.import_module({store!r})
for name, factory in inspect.getmembers(store, lambda member: hasattr(member, "cache_info")):
    if not inspect.signature(factory).parameters:
        try:
            factory()
        except Exception:  # a factory that needs the deployed settings (table names...): its clients are elsewhere
            pass
"""

REPORT = """
import json, sys
done = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1000, "init_ms": (done - started) * 1000,
                  "pil": "PIL" in sys.modules}))
"""


def handler_modules() -> list[tuple[str, str]]:
    """(service, dotted module) of every handler module."""
    found = []
    for path in sorted(ROOT.glob("services/*/imgplat_*/handlers/*.py")):
        if path.name != "__init__.py":
            service = path.parents[2].name
            found.append((service, f"{path.parents[1].name}.handlers.{path.stem}"))
    return found


def environment(service: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": service or "baseline",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
        "USER_POOL_ID": "us-east-1_placeholder",
        "USER_POOL_CLIENT_ID": "placeholder",
    }
    paths = [str(ROOT / "libs" / "common" / "src")] + ([str(ROOT / "services" / service)] if service else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def measure(code: str, service: str | None, runs: int) -> dict[str, float | bool]:
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code + REPORT], env=environment(service), capture_output=True, text=True, check=True
        )
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "import_ms": statistics.median(s["import_ms"] for s in samples),
        "init_ms": statistics.median(s["init_ms"] for s in samples),
        "pil": any(s["pil"] for s in samples),
    }


def zip_sizes() -> dict[str, float]:
    services = sorted(path.parent.name for path in ROOT.glob("services/*/serverless.yml"))
    missing = [service for service in services if not list((ROOT / "services" / service).glob(".serverless/*.zip"))]
    if missing:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "package_services.py"), *missing], check=True)
    return {
        service: zip_path.stat().st_size / 1e6
        for service in services
        for zip_path in (ROOT / "services" / service).glob(".serverless/*.zip")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per module (median reported)")
    args = parser.parse_args()

    measure(BASELINE, None, 1)  # warms the OS file cache for everyone
    baseline = measure(BASELINE, None, args.runs)
    print(f"baseline (boto3 + Powertools + pydantic + one client): {baseline['init_ms']:.0f} ms\n")
    print("| handler | import ms | init ms | x baseline | target | Pillow imported | ok |")
    print("|---|---|---|---|---|---|---|")
    failures = []
    for service, module in handler_modules():
        store = f"{module.split('.')[0]}.store"
        figures = measure(HANDLER.format(module=module, store=store), service, args.runs)
        ratio = float(figures["init_ms"]) / float(baseline["init_ms"])
        target = API_TARGET if service in API_SERVICES else PROCESSING_TARGET
        ok = ratio <= target and not (service in API_SERVICES and figures["pil"])
        failures += [] if ok else [module]
        print(
            f"| {module} | {figures['import_ms']:.0f} | {figures['init_ms']:.0f} | {ratio:.2f} | <= {target} | "
            f"{'yes' if figures['pil'] else 'no'} | {'yes' if ok else 'NO'} |"
        )
    print("\n| service zip | MB | <= 15 MB |")
    print("|---|---|---|")
    for service, megabytes in zip_sizes().items():
        failures += [] if megabytes <= MAX_ZIP_MB else [f"{service} zip"]
        print(f"| {service} | {megabytes:.1f} | {'yes' if megabytes <= MAX_ZIP_MB else 'NO'} |")
    print(f"\n{'all targets met' if not failures else 'over target: ' + ', '.join(failures)}")


if __name__ == "__main__":
    main()
