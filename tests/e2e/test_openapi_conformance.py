"""Property-based tests of every route of the local platform against docs/openapi.yaml (schemathesis).

Every operation gets generated requests (valid and invalid bodies, parameters), signed in as a real user where the
spec asks for the ID token. No answer may be a 5xx, and every answer must be documented: its status, its content
type and its body's schema. Bounded so the run stays well within two minutes on two cores.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.launcher import RunningPlatform
from scripts.generate_openapi import SPEC_PATH

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-Horse-9-Battery"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="session")
def signed_in_id_token(local_platform: RunningPlatform) -> str:
    api, account = local_platform.api_url, {"email": "schemathesis@example.com", "password": PASSWORD}
    requests.post(f"{api}/auth/signup", json=account, timeout=30).raise_for_status()
    requests.post(f"{api}/auth/verify", json={"email": account["email"], "code": "123456"}, timeout=30)
    answer = requests.post(f"{api}/auth/signin", json=account, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["id_token"])


# The committed spec itself (not the served copy): the requests' base URL is the platform's, given per call.
schema = schemathesis.openapi.from_dict(yaml.safe_load(SPEC_PATH.read_text()))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same requests every run: a failure here is reproducible, never flaky
)
def test_every_answer_is_documented_and_none_is_a_server_error(case, local_platform, signed_in_id_token):
    # Given a generated request, signed in when the operation needs the ID token
    headers = {"Authorization": f"Bearer {signed_in_id_token}"} if case.operation.definition.raw.get("security") else {}
    # When it is sent to the local platform, Then the answer is no 5xx and matches the spec
    case.call_and_validate(base_url=local_platform.api_url, headers=headers, checks=CHECKS, timeout=30)
