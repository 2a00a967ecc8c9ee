"""Generate the API Gateway request models (JSON Schema draft-04) from the pydantic bodies the handlers validate.

    python scripts/generate_request_schemas.py           # (re)write services/<svc>/schemas/*.json
    python scripts/generate_request_schemas.py --check   # exit 1 if a committed file differs from the code

Which route takes which body model is read from each API's own Powertools resolver (its OpenAPI document), and
each schema from the pydantic model itself, so a new route or a changed model shows up here without a second list.
The schemas refuse what is plainly malformed (not an object, a missing required field, a wrong type, a length out of
bounds, an unknown field where the model forbids them) before any Lambda runs; format checks (email) stay with the
function, whose error names the field.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local.serverless_files import api_handler_modules, service_dir  # noqa: E402 - after the repo root is importable

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
COMPONENT_REF = "#/components/schemas/"
DEFINITION_REF = "#/$defs/"
# Annotations (no effect on validation) and format checks left to the function (its error is the better one).
DROPPED_KEYWORDS = {"title", "format", "writeOnly", "readOnly", "default", "examples"}
NULL_SCHEMA = {"type": "null"}
# 2020-12's exclusive bounds are numbers; draft-04 writes the number as minimum/maximum.
EXCLUSIVE_BOUNDS = {"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}


@dataclass
class RequestSchema:
    """One request body model of one service, as API Gateway will validate it."""

    model_name: str
    schema: dict[str, Any]
    routes: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, /path)

    @property
    def schema_id(self) -> str:
        """snake_case id of the model: the provider schema id in serverless.yml and the file's stem."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.model_name).lower()

    @property
    def file_name(self) -> str:
        return f"{self.schema_id}.json"

    def text(self) -> str:
        """The committed file's exact content."""
        return json.dumps(self.schema, indent=2, ensure_ascii=False) + "\n"


def schema_dir(service: str) -> Path:
    return ROOT / "services" / service / "schemas"


def _import_apis(service: str) -> list[ModuleType]:
    """The service's handler modules that serve http events; each exposes its Powertools resolver as `app`."""
    path = str(service_dir(service))
    if path not in sys.path:
        sys.path.insert(0, path)
    return [importlib.import_module(module) for module in api_handler_modules()[service]]


def body_services() -> list[str]:
    """The API services that take at least one JSON body (and so have request schemas)."""
    return [service for service in api_handler_modules() if request_schemas(service)]


def _body_model(api: ModuleType, model_name: str) -> type[BaseModel]:
    """The pydantic class behind an OpenAPI body schema: the handler module imports it by that name."""
    model = getattr(api, model_name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise LookupError(f"{api.__name__} takes a {model_name} body but does not import a model of that name")
    return model


def _without_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(X, True) for pydantic's `anyOf [X, {type: null}]` (an `X | None` field), else (schema, False)."""
    match schema.get("anyOf"):
        case [inner, null] | [null, inner] if null == NULL_SCHEMA and inner != NULL_SCHEMA:
            return inner, True
        case _:
            return schema, False


def _nullable_to_draft04(inner: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = to_draft04(inner, definitions)
    # `X | None` accepts an explicit null too; API Gateway must not be stricter than the model.
    if isinstance(converted.get("type"), str):
        return converted | {"type": [converted["type"], "null"]}
    return {"anyOf": [converted, NULL_SCHEMA]}


def _keyword_to_draft04(key: str, value: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """One keyword of a schema object in draft-04 terms: none for what it lacks, two for an exclusive bound."""
    if key in DROPPED_KEYWORDS or key == "$defs":
        return {}
    if key in EXCLUSIVE_BOUNDS and not isinstance(value, bool):
        # draft-04: the bound is minimum/maximum and exclusive* is a flag.
        return {EXCLUSIVE_BOUNDS[key]: value, key: True}
    if key == "const":
        return {"enum": [value]}
    if key == "properties":
        return {key: {name: to_draft04(prop, definitions) for name, prop in value.items()}}
    return {key: to_draft04(value, definitions)}


def to_draft04(schema: Any, definitions: dict[str, Any]) -> Any:
    """pydantic's JSON Schema (2020-12 flavour) -> the draft-04 subset API Gateway validates, with $refs inlined."""
    if isinstance(schema, list):
        return [to_draft04(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:  # one self-contained model per body: inline the nested model's definition
        return to_draft04(definitions[schema["$ref"].removeprefix(DEFINITION_REF)], definitions)
    inner, nullable = _without_null(schema)
    if nullable:
        return _nullable_to_draft04(inner, definitions)
    result: dict[str, Any] = {}
    for key, value in schema.items():
        result |= _keyword_to_draft04(key, value, definitions)
    return result


def request_schemas(service: str) -> dict[str, RequestSchema]:
    """Every JSON body model of the service's API, by model name, with the routes that take it."""
    schemas: dict[str, RequestSchema] = {}
    for api in _import_apis(service):
        document = api.app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
                if body is None:
                    continue
                reference, _ = _without_null(body["schema"])  # an optional body (sign-out) still has its model
                model_name = reference["$ref"].removeprefix(COMPONENT_REF)
                if model_name not in schemas:
                    source = _body_model(api, model_name).model_json_schema(ref_template=DEFINITION_REF + "{model}")
                    schema = {"$schema": DRAFT_04} | to_draft04(source, source.get("$defs", {}))
                    schemas[model_name] = RequestSchema(model_name, schema)
                schemas[model_name].routes.append((method.upper(), path))
    return schemas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report files that differ from the code")
    args = parser.parse_args()
    stale = []
    for service in api_handler_modules():
        directory = schema_dir(service)
        for request in request_schemas(service).values():
            target = directory / request.file_name
            if target.exists() and target.read_text() == request.text():
                continue
            stale.append(target.relative_to(ROOT))
            if not args.check:
                directory.mkdir(exist_ok=True)
                target.write_text(request.text())
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
