"""Create a service's resources in the emulated AWS from the service's own serverless.yml.

`osls print` resolves the framework's variables (stage, params, files) exactly as a deploy would; what is left are
CloudFormation intrinsics, which this module evaluates while it creates each resource with boto3 against moto.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from io import BytesIO
from pathlib import Path
from typing import Any, cast

from local.serverless_files import ROOT, service_dir, shared_fragments

ACCOUNT_ID = "123456789012"
CACHE_DIR = ROOT / ".cache" / "local"
# Prints kept per service and stage, the most recently used first: enough for the few param sets printed side by side
# (the platform's, the template tests'), few enough that the cache stays small however often anything starts.
PRINTS_KEPT_PER_STAGE = 8
# What an output of another stack is printed as (see printed_config_with_outputs); no framework variable syntax in it.
OUTPUT_PLACEHOLDER = "__local_output_{name}__"
NO_VALUE = object()


def printed_config(service: str, stage: str, params: dict[str, str]) -> dict[str, Any]:
    """The service's serverless.yml with every framework variable resolved (cached by content and params)."""
    directory = service_dir(service)
    digest = hashlib.sha256(json.dumps([stage, sorted(params.items())]).encode())
    # The fragments under services/shared/ are part of every service's config (${file(../shared/...)}).
    for path in sorted(directory.glob("*.y*ml")) + sorted(directory.glob("*.json")) + shared_fragments():
        digest.update(path.name.encode() + path.read_bytes())
    cached = CACHE_DIR / f"{service}-{stage}-{digest.hexdigest()[:16]}.json"
    config = _read_cached_print(cached)
    if config is None:
        config = _osls_print(service, stage, params)
        _write_cached_print(cached, config)
    prune_print_cache(service, stage)
    return config


def printed_config_with_outputs(service: str, stage: str, outputs: dict[str, str]) -> dict[str, Any]:
    """printed_config for params that are other stacks' outputs: printed as stable placeholders, then replaced by
    the values. The emulator makes some outputs up anew on every start (a KMS key's ARN); printed as they are, each
    start would miss the cache and run `osls print` again. Such params are only ever used as strings, which is what
    makes the replacement after the print exact. An ARN's placeholder is an ARN too: the framework checks that an
    event source's `arn` starts with "arn:"."""
    placeholders = {name: _output_placeholder(name, value) for name, value in outputs.items()}
    config = printed_config(service, stage, placeholders)
    replaced: dict[str, Any] = _replace_in_strings(
        config, {placeholders[name]: value for name, value in outputs.items()}
    )
    return replaced


def _output_placeholder(name: str, value: str) -> str:
    marker = OUTPUT_PLACEHOLDER.format(name=name)
    return f"arn:{marker}" if value.startswith("arn:") else marker


def _replace_in_strings(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _replace_in_strings(inner, replacements) for key, inner in value.items()}
    if isinstance(value, list):
        return [_replace_in_strings(inner, replacements) for inner in value]
    if isinstance(value, str):
        for placeholder, replacement in replacements.items():
            value = value.replace(placeholder, replacement)
    return value


def _osls_print(service: str, stage: str, params: dict[str, str]) -> dict[str, Any]:
    env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off")
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env['PATH']}"
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    command = ["osls", "print", "--format", "json", "--stage", stage]
    command += [f"--param={name}={value}" for name, value in params.items()]
    result = subprocess.run(command, cwd=service_dir(service), env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"osls print failed for {service}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return cast(dict[str, Any], json.loads(result.stdout[result.stdout.index("{") :]))


def _read_cached_print(path: Path) -> dict[str, Any] | None:
    try:
        config = cast(dict[str, Any], json.loads(path.read_text()))
        os.utime(path)  # marks it used: pruning keeps the most recently used prints
    except FileNotFoundError:  # never printed, or pruned by another process a moment ago
        return None
    return config


def _write_cached_print(path: Path, config: dict[str, Any]) -> None:
    """Written whole or not at all: parallel test workers and a running platform share the cache."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(config))
    os.replace(partial, path)


def prune_print_cache(service: str, stage: str) -> None:
    """Delete all but the PRINTS_KEPT_PER_STAGE most recently used prints of this service and stage."""
    prints = []
    for path in CACHE_DIR.glob(f"{service}-{stage}-{'?' * 16}.json"):
        try:
            prints.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    for _, stale in sorted(prints, reverse=True)[PRINTS_KEPT_PER_STAGE:]:
        stale.unlink(missing_ok=True)


@dataclass
class Resource:
    logical_id: str
    type: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """One deployed service: its resolved config, resources and outputs."""

    service: str
    config: dict[str, Any]
    region: str
    resources: dict[str, Resource] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.config['service']}-{self.config['provider']['stage']}"

    def conditions(self) -> dict[str, Any]:
        return (self.config.get("resources") or {}).get("Conditions") or {}

    # --- intrinsic functions -------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Evaluate CloudFormation intrinsics in `value` against what this stack has created so far."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name.startswith("Fn::") or name == "Condition":
                return self._function(name, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.resources:
            return self.resources[name].ref
        parameters = (self.config.get("resources") or {}).get("Parameters") or {}
        if name in parameters:
            return parameters[name].get("Default", "")
        raise KeyError(f"{self.service}: Ref to unknown resource {name}")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources[logical_id]
        if attribute not in resource.attributes:
            raise KeyError(f"{self.service}: no attribute {attribute} on {logical_id} ({resource.type})")
        return resource.attributes[attribute]

    def _function(self, name: str, argument: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": lambda a: self._get_att(*(a.split(".", 1) if isinstance(a, str) else a)),
            "Fn::Sub": self._sub,
            "Fn::Join": lambda a: str(a[0]).join(str(v) for v in self.resolve(a[1])),
            "Fn::Select": lambda a: self.resolve(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: str(self.resolve(a[1])).split(a[0]),
            "Fn::If": lambda a: self.resolve(a[1] if self._condition(a[0]) else a[2]),
            "Fn::Equals": lambda a: self.resolve(a[0]) == self.resolve(a[1]),
            "Fn::Not": lambda a: not self._truth(a[0]),
            "Fn::And": lambda a: all(self._truth(v) for v in a),
            "Fn::Or": lambda a: any(self._truth(v) for v in a),
            "Condition": self._condition,
        }
        if name not in handlers:
            raise NotImplementedError(f"{self.service}: {name} is not supported locally")
        return handlers[name](argument)

    def _truth(self, value: Any) -> bool:
        return bool(self.resolve(value))

    def _condition(self, name: str) -> bool:
        return self._truth(self.conditions()[name])

    def _sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        resolved_variables = {k: self.resolve(v) for k, v in variables.items()}
        out, rest = [], template
        while "${" in rest:
            before, _, after = rest.partition("${")
            expression, _, rest = after.partition("}")
            out.append(before)
            if expression.startswith("!"):
                out.append("${" + expression[1:] + "}")
            elif expression in resolved_variables:
                out.append(str(resolved_variables[expression]))
            elif "." in expression:
                out.append(self._get_att(*expression.split(".", 1)))
            else:
                out.append(str(self._ref(expression)))
        return "".join(out) + rest

    def condition_holds(self, definition: dict[str, Any]) -> bool:
        return "Condition" not in definition or self._condition(definition["Condition"])


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids in an order where every Ref/GetAtt/Sub/DependsOn target comes first."""

    def references(value: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "Ref" and isinstance(inner, str):
                    found.add(inner)
                elif key == "Fn::GetAtt":
                    found.add(inner.split(".")[0] if isinstance(inner, str) else inner[0])
                elif key == "Fn::Sub":
                    template = inner if isinstance(inner, str) else inner[0]
                    found |= {part.split("}")[0].split(".")[0] for part in template.split("${")[1:]}
                found |= references(inner)
        elif isinstance(value, list):
            for inner in value:
                found |= references(inner)
        return found

    graph = {}
    for logical_id, definition in resources.items():
        depends = definition.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else depends
        graph[logical_id] = (references(definition.get("Properties")) | set(depends)) & set(resources)
    return list(TopologicalSorter(graph).static_order())


def dummy_code_zip() -> bytes:
    """The emulator never runs this code: local invocations go to the real handler (see local.lambdas)."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def repo_path(relative: str) -> Path:
    return ROOT / relative
