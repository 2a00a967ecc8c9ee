"""The processing harness's own ASL interpreter (run_workflow, its fast path) decides exactly as Step Functions does.

Every path of services/processing/statemachine.asl.yaml runs twice with the same real handlers and the same faults:
once through run_workflow, once as a real execution of the state machine in moto's Step Functions (the way local/
runs it: moto executes the definition and its Lambda tasks call the handlers in this process). Both runs must enter
the same states, invoke the same handlers the same number of times (Retry included), end in the same state, leave
the same top-level workflow state and the same image status. Faults are raised by the handlers themselves, by name,
so both runners see the very same errors and the test does not depend on how the steps call AWS.
"""

from __future__ import annotations

import importlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import processing_harness
import processing_samples as samples
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from processing_harness import Platform, lambda_error, platform, run_workflow, serverless_definition

from local.lambda_runtime import function_arn, function_logical_id, handler_module
from local.platform import MOTO_SETTINGS
from local.stack import dummy_code_zip

__all__ = ["platform"]  # the harness's fixture: moto resources and the functions' environment

EXECUTION_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Outcome:
    """What one runner did with one image: the states entered, the handlers invoked, where it ended."""

    path: list[str]
    invoked: list[str]  # function keys, one per invocation (a retried step appears once per attempt)
    end_state: str  # a Succeed or Fail state's name, or "ExecutionFailed" when an error went uncaught
    state_keys: list[str] | None  # the final workflow state's top-level keys (None when the execution failed)
    status: str


class Invocations:
    """Records every handler invocation of both runners (the harness's `invoke` is the one way both call them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        real_invoke = processing_harness.invoke

        def recording(function_key: str, event: dict[str, Any]) -> Any:
            self.keys.append(function_key)
            return real_invoke(function_key, event)

        monkeypatch.setattr(processing_harness, "invoke", recording)

    def taken(self) -> list[str]:
        taken, self.keys = self.keys, []
        return taken


class HandlerFaults:
    """Makes a function's handler raise an error of a given name (what Retry and Catch match), the first `times`
    calls of each run or all of them. `reset` starts the count again for the next runner."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.calls: dict[str, int] = {}

    def fail(
        self,
        function_key: str,
        error_name: str,
        times: int | None = None,
        first: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        module = importlib.import_module(handler_module(serverless_definition()["functions"][function_key]["handler"]))
        real_handler = module.handler
        error_type = type(error_name, (Exception,), {})
        self.calls[function_key] = 0

        def faulty(event: dict[str, Any], context: Any) -> Any:
            self.calls[function_key] += 1
            if times is None or self.calls[function_key] <= times:
                if first is not None:
                    first(event)
                raise error_type(f"{error_name} (injected)")
            return real_handler(event, context)

        self.monkeypatch.setattr(module, "handler", faulty)

    def reset(self) -> None:
        self.calls = dict.fromkeys(self.calls, 0)


class StepFunctions:
    """statemachine.asl.yaml deployed into moto's Step Functions, which executes it; its Lambda tasks run the real
    handlers through the harness's `invoke`, and a raised error becomes the Lambda error payload, as on AWS."""

    def __init__(self) -> None:
        self.client = boto3.client("stepfunctions")
        lambda_client = boto3.client("lambda")
        role = boto3.client("iam").create_role(RoleName="workflow-equivalence", AssumeRolePolicyDocument="{}")
        self.function_keys: dict[str, str] = {}
        arns_by_logical_id = {}
        for key in serverless_definition()["functions"]:
            name = f"imgplat-processing-test-{key}"
            lambda_client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role["Role"]["Arn"],
                Handler="placeholder.handler",
                Code={"ZipFile": dummy_code_zip()},
            )
            self.function_keys[name] = key
            arns_by_logical_id[function_logical_id(key)] = function_arn(name)
        definition = _with_function_arns(processing_harness.state_machine_definition(), arns_by_logical_id)
        self.arn = self.client.create_state_machine(
            name="imgplat-processing-test-workflow", definition=json.dumps(definition), roleArn=role["Role"]["Arn"]
        )["stateMachineArn"]

    def invoke(self, function_name: str, body: bytes) -> tuple[Any, bool]:
        """One Lambda invocation: (payload, whether it is a function error)."""
        key = self.function_keys[function_name.split(":function:")[-1].split(":")[0]]
        try:
            return processing_harness.invoke(key, json.loads(body) if body else {}), False
        except Exception as error:  # a Lambda reports every unhandled error with its type and message
            return json.loads(lambda_error(error)["Cause"]), True

    def run(self, request: Any) -> tuple[list[str], str, list[str] | None]:
        execution = self.client.start_execution(
            stateMachineArn=self.arn, name=uuid.uuid4().hex, input=json.dumps(request.model_dump(mode="json"))
        )["executionArn"]
        deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
        while (described := self.client.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not finish"
            time.sleep(0.02)
        events = self.client.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        path = [event["stateEnteredEventDetails"]["name"] for event in events if event["type"].endswith("StateEntered")]
        states = processing_harness.state_machine_definition()["States"]
        reached_an_end = states[path[-1]]["Type"] in ("Succeed", "Fail")
        end_state = path[-1] if reached_an_end else "ExecutionFailed"
        output = described.get("output")
        state_keys = sorted(json.loads(output)) if described["status"] == "SUCCEEDED" and output else None
        return path, end_state, state_keys


def _with_function_arns(value: Any, arns_by_logical_id: dict[str, str]) -> Any:
    """The definition with each `Fn::GetAtt [XLambdaFunction, Arn]` replaced by that function's ARN."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            return arns_by_logical_id[value["Fn::GetAtt"][0]]
        return {key: _with_function_arns(inner, arns_by_logical_id) for key, inner in value.items()}
    if isinstance(value, list):
        return [_with_function_arns(inner, arns_by_logical_id) for inner in value]
    return value


@pytest.fixture
def step_functions(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[StepFunctions]:
    # Retry waits (seconds, growing) only slow the test down: the decisions are what is compared.
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda _seconds: None))
    with mock.patch.dict(default_user_config, MOTO_SETTINGS):
        machine = StepFunctions()

        def invoke(
            _backend: Any, function_name: str, _qualifier: Any, body: Any, _headers: Any, response: dict[str, str]
        ) -> bytes:
            payload, failed = machine.invoke(function_name, body)
            if failed:
                response["x-amz-function-error"] = "Unhandled"
            return json.dumps(payload).encode()

        with mock.patch.object(LambdaSimpleBackend, "invoke", invoke):
            yield machine


PHOTO = samples.jpeg_with_exif_orientation((240, 160))
NOT_AN_IMAGE = b"plain text, not an image"  # refused from its header, by Validate


@dataclass(frozen=True)
class Scenario:
    image: bytes
    ends: list[str]  # the last states of the path, so each scenario is known to take the path it is named after
    faults: list[tuple[str, str, int | None]] = field(default_factory=list)  # (function, error name, times)
    owner_deletes_the_image_in: str | None = None  # a function whose (failing) call first deletes the record
    another_run_finishes_in: str | None = None  # a function whose (failing) call first makes another run's READY


READY = ["Persist", "Done"]
FAILED = ["MarkFailed", "FailureOutcome", "ProcessingFailed"]
# Every path through the state machine: each Catch of each Task, a Retry that recovers and one that runs out, each
# end (Succeed, Fail, and an error in an ending, which no Catch takes).
SCENARIOS = {
    "ready": Scenario(PHOTO, ["Claim", "Validate", "Resize", "Watermark", *READY]),
    "rejected at validate": Scenario(NOT_AN_IMAGE, ["Validate", "MarkRejected", "Rejected"]),
    "stale event at claim": Scenario(PHOTO, ["Claim", "AlreadyHandled"], [("claim", "StaleEvent", None)]),
    **{
        f"failed at {step}": Scenario(PHOTO, [state, *FAILED], [(step, "AccessDenied", None)])
        for step, state in (
            ("claim", "Claim"),
            ("validate", "Validate"),
            ("resize", "Resize"),
            ("watermark", "Watermark"),
            ("persist", "Persist"),
        )
    },
    **{
        f"rejected at {step}": Scenario(PHOTO, [state, "MarkRejected", "Rejected"], [(step, "ImageRejected", None)])
        for step, state in (("resize", "Resize"), ("watermark", "Watermark"))
    },
    "transient error retried, then ready": Scenario(PHOTO, READY, [("watermark", "TransientError", 1)]),
    "worker crash retried, then ready": Scenario(PHOTO, READY, [("resize", "Lambda.Unknown", 1)]),
    "failed after the image was settled": Scenario(
        PHOTO,
        ["Persist", "MarkFailed", "FailureOutcome", "AlreadySettled"],
        [("persist", "AccessDenied", None)],
        another_run_finishes_in="persist",
    ),
    "failed after the retries ran out": Scenario(PHOTO, ["Validate", *FAILED], [("validate", "TransientError", None)]),
    "image deleted during the run": Scenario(
        PHOTO, ["MarkFailed", "FailureOutcome", "ImageGone"], [("resize", "AccessDenied", None)], "resize"
    ),
    "marking failed retried": Scenario(
        PHOTO, ["Persist", *FAILED], [("persist", "AccessDenied", None), ("markFailed", "TransientError", 1)]
    ),
    "marking rejected fails": Scenario(NOT_AN_IMAGE, ["MarkRejected"], [("markRejected", "AccessDenied", None)]),
    "marking failed fails": Scenario(
        PHOTO, ["Validate", "MarkFailed"], [("validate", "AccessDenied", None), ("markFailed", "AccessDenied", None)]
    ),
}


def _arrange(platform: Platform, faults: HandlerFaults, scenario: Scenario) -> None:
    def delete_the_record(state: dict[str, Any]) -> None:
        platform.table.delete_item(Key={"owner": state["owner"], "image_id": state["image_id"]})

    def another_run_finishes(state: dict[str, Any]) -> None:
        platform.table.update_item(
            Key={"owner": state["owner"], "image_id": state["image_id"]},
            UpdateExpression="SET #status = :ready, run_id = :other",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":ready": "READY", ":other": f"{state['image_id']}-ffffffffffffffff"},
        )

    hooks = {
        scenario.owner_deletes_the_image_in: delete_the_record,
        scenario.another_run_finishes_in: another_run_finishes,
    }
    for function_key, error_name, times in scenario.faults:
        faults.fail(function_key, error_name, times, first=hooks.get(function_key))


def _status(platform: Platform, request: Any) -> str:
    item = platform.item(request)
    return str(item["status"]) if item else "gone"


def _ended_in_success(end_state: str) -> bool:
    states = processing_harness.state_machine_definition()["States"]
    return end_state in states and states[end_state]["Type"] == "Succeed"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_fast_path_takes_the_same_path_as_step_functions(
    platform: Platform, step_functions: StepFunctions, monkeypatch: pytest.MonkeyPatch, name: str
):
    # Given the same image and the same faults for both runners
    scenario = SCENARIOS[name]
    invocations = Invocations(monkeypatch)
    faults = HandlerFaults(monkeypatch)
    _arrange(platform, faults, scenario)

    # When the harness's interpreter runs the workflow, and then Step Functions runs it for another upload
    request = platform.upload(scenario.image)
    run = run_workflow(request)
    state_keys = sorted(run.state) if _ended_in_success(run.end_state) else None
    fast_path = Outcome(run.path, invocations.taken(), run.end_state, state_keys, _status(platform, request))
    faults.reset()
    request = platform.upload(scenario.image)
    path, end_state, state_keys = step_functions.run(request)
    real = Outcome(path, invocations.taken(), end_state, state_keys, _status(platform, request))

    # Then both decided the same at every step, on the path the scenario is named after
    assert fast_path == real
    assert real.path[-len(scenario.ends) :] == scenario.ends
