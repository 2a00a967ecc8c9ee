"""Package the whole compose project offline with `osls-compose package`, the way `osls-compose deploy` would build it.

    python scripts/package_compose.py [--stage dev]

Compose resolves `${service.Output}` params from its state file (.serverless/state.<stage>.json), which a real
deploy fills with the producing stacks' outputs. Offline there are no stacks, so this script seeds that file with
the same placeholder outputs as scripts/package_services.py (one list, of the right kind: ARN vs name; an output
that re-exports a param, upload's MaxUploadBytes, carries that param's default), packages,
checks that every consumer's template received the placeholder it was wired to, and removes the seeded file again
(.serverless/ is gitignored; an existing state file, e.g. a real deploy's, is restored untouched).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from package_services import PLACEHOLDER_OUTPUTS, ROOT, check_zips, compose_services, tool_env


def seeded_state(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The compose state file with a placeholder for every output some service consumes (the producers' outputs)."""
    components: dict[str, dict[str, Any]] = {}
    for service in services.values():
        for reference in (service.get("params") or {}).values():
            producer, output = str(reference).strip("${}").split(".", 1)
            components.setdefault(producer, {"outputs": {}})["outputs"][output] = PLACEHOLDER_OUTPUTS[output]
    return {"components": components}


def check_wiring(services: dict[str, dict[str, Any]]) -> list[str]:
    """Problems: a consumer whose packaged template does not contain the placeholder of an output it consumes."""
    problems = []
    for name, service in services.items():
        template = ROOT / service["path"] / ".serverless" / "cloudformation-template-update-stack.json"
        if not template.exists():
            problems.append(f"{name}: no template at {template}")
            continue
        text = template.read_text()
        for param, reference in (service.get("params") or {}).items():
            output = str(reference).strip("${}").split(".", 1)[1]
            if json.dumps(PLACEHOLDER_OUTPUTS[output])[1:-1] not in text:
                problems.append(f"{name}: param {param} (= {reference}) did not reach the template")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args()
    services = compose_services()
    state_file = ROOT / ".serverless" / f"state.{args.stage}.json"
    previous = state_file.read_bytes() if state_file.exists() else None
    state_file.parent.mkdir(exist_ok=True)
    state_file.write_text(json.dumps(seeded_state(services), indent=2))
    started = time.monotonic()
    print(f"packaging the compose project ({', '.join(services)}), stage {args.stage} ...", flush=True)
    try:
        # Compose spawns the `serverless` binary of node_modules/.bin (osls), which tool_env() puts on PATH.
        command = ["osls-compose", "package", "--stage", args.stage]
        result = subprocess.run(command, cwd=ROOT, env=tool_env(), capture_output=True, text=True)
    finally:
        if previous is None:
            state_file.unlink()
        else:
            state_file.write_bytes(previous)
    if result.returncode != 0:
        print(result.stdout[-6000:], result.stderr[-6000:], sep="\n")
        print(f"PROBLEM: osls-compose package failed ({result.returncode})")
        return 1
    print(f"  done in {time.monotonic() - started:.0f} s")
    problems = check_wiring(services)
    for name, service in services.items():
        problems += check_zips(name, ROOT / service["path"] / ".serverless")
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
