"""docs/openapi.yaml is what the code generates, and it names exactly the routes API Gateway serves.

Regenerate after changing a route, a parameter or a body: .venv/bin/python scripts/generate_openapi.py
"""

from __future__ import annotations

import yaml
from jsonschema import Draft202012Validator

from scripts.generate_openapi import SECURITY_SCHEME, SPEC_PATH, build_spec, gateway_routes, spec_text, template

REGENERATE = "run: .venv/bin/python scripts/generate_openapi.py"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _spec_operations() -> dict[tuple[str, str], dict]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return {
        (method, template(path)): operation
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
    }


def test_committed_spec_is_what_the_resolvers_generate():
    # Given the resolvers and models as the code defines them now, When the spec is regenerated in memory
    generated = spec_text(build_spec())
    # Then the committed file is the same, byte for byte
    assert SPEC_PATH.read_text() == generated, f"docs/openapi.yaml is stale; {REGENERATE}"


def test_every_gateway_route_is_in_the_spec_and_nothing_else():
    # Given every http event of the services' serverless.yml, When compared with the spec's operations
    gateway = set(gateway_routes())
    documented = set(_spec_operations())
    # Then both name the same routes
    assert gateway - documented == set(), f"routes served but not documented; {REGENERATE}"
    assert documented - gateway == set(), "operations documented but no http event serves them"


def test_exactly_the_routes_behind_the_cognito_authorizer_require_the_bearer_token():
    operations = _spec_operations()
    for route, authorized in gateway_routes().items():
        expected = [{SECURITY_SCHEME: []}] if authorized else None
        assert operations[route].get("security") == expected, route
    assert all(path.startswith("/auth/") for (_, path), authorized in gateway_routes().items() if not authorized)


def test_every_error_answer_uses_the_platform_error_body():
    for route, operation in _spec_operations().items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    route,
                    status,
                )


def test_every_schema_in_the_spec_is_valid_json_schema_2020_12():
    spec = yaml.safe_load(SPEC_PATH.read_text())
    assert spec["openapi"].startswith("3.1")
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises, naming the keyword, when not valid
