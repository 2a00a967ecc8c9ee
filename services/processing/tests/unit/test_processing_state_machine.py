"""statemachine.asl.yaml is a sound workflow: every state reachable, every task retried and caught as designed,
and every Lambda it names is a function in serverless.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from local.lambda_runtime import function_key_for_logical_id, import_handler
from local.serverless_files import load_yaml

SERVICE_DIR = Path(__file__).resolve().parents[2]
DEFINITION = yaml.safe_load((SERVICE_DIR / "statemachine.asl.yaml").read_text())
CONFIG = load_yaml(SERVICE_DIR / "serverless.yml")
STATES: dict[str, dict[str, Any]] = DEFINITION["States"]
TASKS = {name: state for name, state in STATES.items() if state["Type"] == "Task"}
TRANSIENT_ERRORS = {
    "TransientError",
    "EventPublishFailed",  # a TransientError the workflow names apart (Persist's Catch)
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# A worker that died or overran (statemachine.asl.yaml: Lambda.Unknown is how AWS reports both for a Lambda task).
CRASHED_WORKER_ERRORS = {"Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout", "States.Timeout"}
IMAGE_STEPS = ("Validate", "Resize", "Watermark")


ENDINGS = ("MarkRejected", "MarkFailed")


def _targets(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [state["Default"]] if "Default" in state else []
    return targets + [catcher["Next"] for catcher in state.get("Catch", [])]


def _catches(task: str) -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(catcher["ErrorEquals"]), catcher["Next"]) for catcher in TASKS[task].get("Catch", [])]


def test_every_state_is_reachable_from_the_start_and_every_target_exists():
    reachable, pending = set(), [DEFINITION["StartAt"]]
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            assert name in STATES, f"a transition goes to {name}, which is not a state"
            pending.extend(_targets(STATES[name]))
    assert reachable == set(STATES)


def test_the_happy_path_is_claim_validate_resize_watermark_persist():
    path, name = [], DEFINITION["StartAt"]
    while "Next" in STATES[name]:
        path.append(name)
        name = STATES[name]["Next"]
    assert [*path, name] == ["Claim", "Validate", "Resize", "Watermark", "Persist", "Done"]
    assert STATES["Done"]["Type"] == "Succeed"


def test_every_task_retries_transient_errors_only_with_backoff_and_jitter():
    for name, task in TASKS.items():
        transient, crashed = task["Retry"]
        assert set(transient["ErrorEquals"]) == TRANSIENT_ERRORS, name
        assert (transient["IntervalSeconds"], transient["MaxAttempts"], transient["BackoffRate"]) == (1, 3, 2), name
        assert set(crashed["ErrorEquals"]) == CRASHED_WORKER_ERRORS, name
        assert (crashed["IntervalSeconds"], crashed["MaxAttempts"], crashed["BackoffRate"]) == (2, 2, 2), name
        assert transient["JitterStrategy"] == crashed["JitterStrategy"] == "FULL", name


def test_claim_ends_stale_events_as_already_handled_and_marks_any_other_error_failed():
    # Any other error (retries exhausted, a timeout, AccessDenied) must not leave the image PENDING forever: the
    # ingest message is already gone, so nothing would ever try again.
    assert _catches("Claim") == [(("StaleEvent",), "AlreadyHandled"), (("States.ALL",), "MarkFailed")]
    assert STATES["AlreadyHandled"]["Type"] == "Succeed"


def test_every_task_but_the_endings_catches_every_error_last():
    for name, task in TASKS.items():
        if name in ENDINGS:
            assert "Catch" not in task, f"{name} failing must fail the execution"
            continue
        *_, (errors, target) = _catches(name)
        assert (errors, target) == (("States.ALL",), "MarkFailed"), name


def test_image_steps_send_rejections_to_mark_rejected_and_everything_else_to_mark_failed():
    for name in IMAGE_STEPS:
        assert _catches(name) == [(("ImageRejected",), "MarkRejected"), (("States.ALL",), "MarkFailed")], name


def test_persist_failures_go_to_mark_failed_but_an_unpublished_event_fails_the_execution():
    # Persist's write is done when its event fails: MarkFailed would find the record READY and leave quietly.
    assert _catches("Persist") == [
        (("EventPublishFailed",), "ReadyNotAnnounced"),
        (("States.ALL",), "MarkFailed"),
    ]
    assert STATES["ReadyNotAnnounced"]["Type"] == "Fail"


def test_rejections_succeed_and_failures_fail_the_execution_unless_the_image_was_deleted():
    assert STATES["MarkRejected"]["Next"] == "Rejected"
    assert STATES["Rejected"]["Type"] == "Succeed"
    choice = STATES[STATES["MarkFailed"]["Next"]]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {"Variable": "$.outcome.image_gone", "BooleanEquals": True, "Next": "ImageGone"},
        {"Variable": "$.outcome.recorded", "BooleanEquals": False, "Next": "AlreadySettled"},
    ]
    assert STATES["AlreadySettled"]["Type"] == "Succeed"
    assert choice["Default"] == "ProcessingFailed"
    assert STATES["ImageGone"]["Type"] == "Succeed"
    assert STATES["ProcessingFailed"]["Type"] == "Fail"


def test_results_and_errors_are_merged_into_the_state_not_replacing_it():
    for name, task in TASKS.items():
        assert task["ResultPath"].startswith("$."), name
        for catcher in task.get("Catch", []):
            assert catcher["ResultPath"] == "$.error", name
    happy_path = ("Claim", "Validate", "Resize", "Watermark", "Persist")
    result_paths = [TASKS[name]["ResultPath"] for name in happy_path]
    assert len(set(result_paths)) == len(result_paths), "a later step would overwrite an earlier step's result"


def test_every_task_invokes_a_function_of_this_service_whose_handler_exists():
    functions = CONFIG["functions"]
    for name, task in TASKS.items():
        logical_id, attribute = task["Resource"]["Fn::GetAtt"]
        assert attribute == "Arn", name
        function_key = function_key_for_logical_id(functions, logical_id)
        assert callable(import_handler(functions[function_key]["handler"])), name


def test_serverless_yml_loads_this_definition_for_the_image_workflow():
    machine = CONFIG["stepFunctions"]["stateMachines"]["imageWorkflow"]
    assert machine["id"] == "ImageWorkflow"
    assert machine["definition"] == load_yaml(SERVICE_DIR / "statemachine.asl.yaml")  # its ${file(...)}, resolved
    assert machine["tracingConfig"] == {"enabled": True}
    assert machine["loggingConfig"]["level"] == "ERROR"
