"""Pipeline faults (issue 5, point 6): transient and permanent AWS errors in each step, a worker killed mid-step and
events out of order. The real handlers run in the order and with the Retry/Catch rules of statemachine.asl.yaml;
AWS errors are injected at the store (the service's only AWS code) exactly where each step calls it.

After every fault: one record, a terminal status, no orphan renditions or work files (assert_settled).
Duplicate S3 events, the S3 test event, an image deleted during processing and failing claims are covered in
test_processing_orchestrator.py, test_processing_orchestration.py and test_processing_workflow.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import processing_samples as samples
import pytest
from botocore.exceptions import ClientError
from imgplat_common.original_tags import REJECTED_ORIGINAL_TAGS
from imgplat_common.status import ImageStatus
from imgplat_processing.ports import TransientError
from imgplat_processing.store import processing_store
from processing_harness import LogLines, Platform, Workflow, assert_settled, run_workflow, state_machine_definition

HAPPY_PATH = ["Claim", "Validate", "Resize", "Watermark", "Persist", "Done"]


@dataclass(frozen=True)
class StoreCall:
    """The store function a step calls, and which of its calls belong to that step."""

    function: str
    belongs: Callable[[tuple[Any, ...], dict[str, Any]], bool]


def _target(status: ImageStatus) -> Callable[[tuple[Any, ...], dict[str, Any]], bool]:
    return lambda args, kwargs: kwargs.get("target") is status


def _key_under(prefix: str) -> Callable[[tuple[Any, ...], dict[str, Any]], bool]:
    return lambda args, kwargs: str(args[1]).startswith(prefix)


def _tagged(tags: dict[str, str]) -> Callable[[tuple[Any, ...], dict[str, Any]], bool]:
    return lambda args, kwargs: dict(args[2]) == tags


# One DynamoDB or S3 call per step of the happy path, made by that step alone.
STEP_CALLS = {
    "Claim": StoreCall("transition", _target(ImageStatus.PROCESSING)),  # DynamoDB UpdateItem
    "Validate": StoreCall("object_size", _key_under("originals/")),  # S3 HeadObject
    "Resize": StoreCall("write_object", _key_under("work/")),  # S3 PutObject of an intermediate
    "Watermark": StoreCall("write_object", _key_under("renditions/")),  # S3 PutObject of a rendition
    "Persist": StoreCall("transition", _target(ImageStatus.READY)),  # DynamoDB UpdateItem
}


class Faults:
    """Makes the matching calls of one store function fail: the first `times` of them, or all when times is None."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, call: StoreCall, error: Callable[[], Exception], times: int | None
    ):
        self.failed = 0
        self.passed = 0
        store = processing_store()  # the container's store, which every handler of this test uses
        real = getattr(store, call.function)

        def faulty(*args: Any, **kwargs: Any) -> Any:
            if call.belongs(args, kwargs):
                if times is None or self.failed < times:
                    self.failed += 1
                    raise error()
                self.passed += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(store, call.function, faulty)


def _throttled() -> Exception:
    return TransientError("ThrottlingException (injected)")


def _access_denied() -> Exception:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "injected"}}, "AnyOperation")


class WorkerKilled(Exception):
    """The Lambda worker process died mid-step (killed, out of memory): the runtime's error, not the handler's."""

    def __init__(self, lambda_error_type: str) -> None:
        super().__init__("RequestId: test Error: Runtime exited with error: signal: killed")
        self.lambda_error_type = lambda_error_type


# --- transient errors: Retry succeeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("step", list(STEP_CALLS))
def test_a_transient_error_in_any_step_is_retried_and_the_image_becomes_ready(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, step: str
):
    # Given DynamoDB or S3 throttles the step's call once
    request = platform.upload(samples.jpeg_with_exif_orientation())
    faults = Faults(monkeypatch, STEP_CALLS[step], _throttled, times=1)

    # When the workflow runs
    run = run_workflow(request)

    # Then the state machine's Retry repeated the step, which then succeeded: the happy path, READY, nothing left over
    assert run.retried == [(step, "TransientError")]
    assert (faults.failed, faults.passed >= 1) == (1, True)
    assert run.path == HAPPY_PATH and run.errors == []
    assert_settled(platform, request, ImageStatus.READY)


def test_a_transient_error_while_marking_rejected_is_retried(platform: Platform, monkeypatch: pytest.MonkeyPatch):
    request = platform.upload(samples.truncated_jpeg())
    Faults(monkeypatch, StoreCall("tag_object", _tagged(REJECTED_ORIGINAL_TAGS)), _throttled, times=1)

    run = run_workflow(request)

    assert run.retried == [("MarkRejected", "TransientError")]
    assert run.end_state == "Rejected"
    assert_settled(platform, request, ImageStatus.REJECTED)


def test_a_transient_error_while_marking_failed_is_retried(platform: Platform, monkeypatch: pytest.MonkeyPatch):
    request = platform.upload(samples.jpeg_with_exif_orientation())
    Faults(monkeypatch, StoreCall("transition", _target(ImageStatus.FAILED)), _throttled, times=1)

    def original_lost(state: dict[str, Any]) -> None:
        platform.s3.delete_object(Bucket=request.bucket, Key=request.key)

    run = run_workflow(request, before={"Resize": original_lost})

    assert run.retried == [("MarkFailed", "TransientError")]
    assert run.end_state == "ProcessingFailed"
    assert_settled(platform, request, ImageStatus.FAILED)


@pytest.mark.parametrize("step", list(STEP_CALLS))
def test_a_transient_error_that_outlasts_the_retries_marks_the_image_failed(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, step: str
):
    request = platform.upload(samples.jpeg_with_exif_orientation())
    faults = Faults(monkeypatch, STEP_CALLS[step], _throttled, times=None)

    run = run_workflow(request)

    retrier = state_machine_definition()["States"][step]["Retry"][0]  # [1] is for crashes
    assert run.retried == [(step, "TransientError")] * retrier["MaxAttempts"]
    assert faults.failed >= 1 + retrier["MaxAttempts"]  # Resize and Watermark write several objects per attempt
    assert run.path[-3:] == ["MarkFailed", "FailureOutcome", "ProcessingFailed"]
    assert_settled(platform, request, ImageStatus.FAILED)


# --- permanent errors: Catch -> FAILED with an error id ---------------------------------------------------------------


@pytest.mark.parametrize("step", list(STEP_CALLS))
def test_a_permanent_error_in_any_step_is_not_retried_and_marks_failed_with_a_logged_error_id(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, logged: LogLines, step: str
):
    # Given the step's call is refused for good (AccessDenied: a broken policy, a disabled key)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    faults = Faults(monkeypatch, STEP_CALLS[step], _access_denied, times=None)

    # When the workflow runs
    run = run_workflow(request)

    # Then it is not retried, the Catch marks the image FAILED with an error id, and that id is logged with the cause
    assert faults.failed >= 1 and run.retried == []
    assert [error["Error"] for error in run.errors] == ["ClientError"]
    assert run.path[-3:] == ["MarkFailed", "FailureOutcome", "ProcessingFailed"]
    record = assert_settled(platform, request, ImageStatus.FAILED)
    (failure,) = [line for line in logged() if line["message"] == "image processing failed"]
    assert failure["error_id"] == record.error_id and failure["error"] == "ClientError"
    assert "AccessDenied" in failure["cause"]


# --- a worker killed mid-step -----------------------------------------------------------------------------------------


CRASHES = ["Runtime.ExitError", "Lambda.Unknown", "Sandbox.Timedout", "States.Timeout"]


def _worker_dies(
    monkeypatch: pytest.MonkeyPatch, step: str, error_type: str, *, times: int | None, after_call: bool = False
) -> None:
    """The step's worker dies in the middle of its work (Watermark: after some renditions were published), the
    first `times` times (None: every time); `after_call`: just after the step's store call landed."""
    call = STEP_CALLS[step]
    published_before_death = 3 if step == "Watermark" else 0
    store = processing_store()
    real = getattr(store, call.function)
    calls = {"matching": 0, "died": 0}

    def dies_midway(*args: Any, **kwargs: Any) -> Any:
        if call.belongs(args, kwargs):
            calls["matching"] += 1
            dies = calls["matching"] > published_before_death and (times is None or calls["died"] < times)
            if dies:
                calls["died"] += 1
                if after_call:
                    real(*args, **kwargs)
                raise WorkerKilled(error_type)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, call.function, dies_midway)


@pytest.mark.parametrize("error_type", CRASHES)
@pytest.mark.parametrize("step", ["Validate", "Resize", "Watermark", "Persist"])
def test_a_worker_killed_mid_step_is_retried_and_the_image_becomes_ready(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, step: str, error_type: str
):
    # Given the step's worker dies once mid-step (killed, out of memory, a recycled sandbox, a timeout)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    _worker_dies(monkeypatch, step, error_type, times=1)

    # When the workflow runs
    run = run_workflow(request)

    # Then the step is repeated after a backoff and the image ends READY, as if nothing had happened
    assert run.retried == [(step, error_type)]
    assert run.path == HAPPY_PATH
    assert_settled(platform, request, ImageStatus.READY)


@pytest.mark.parametrize("step", ["Validate", "Resize", "Watermark", "Persist"])
def test_a_worker_that_dies_on_every_attempt_marks_the_image_failed_and_leaves_no_partial_output(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, step: str
):
    # Given the step's worker dies on every attempt (a crash that repeats: memory, a poisonous input)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    _worker_dies(monkeypatch, step, "Lambda.Unknown", times=None)

    # When the workflow runs
    run = run_workflow(request)

    # Then the retries run out, the image is FAILED with an error id and the renditions published before the
    # crashes are removed
    crash_retrier = state_machine_definition()["States"][step]["Retry"][1]
    assert run.retried == [(step, "Lambda.Unknown")] * crash_retrier["MaxAttempts"]
    assert [error["Error"] for error in run.errors] == ["Lambda.Unknown"]
    assert run.path[-3:] == ["MarkFailed", "FailureOutcome", "ProcessingFailed"]
    assert_settled(platform, request, ImageStatus.FAILED)


@pytest.mark.parametrize("times", [1, None])
def test_persist_killed_after_its_write_ends_ready_without_an_alarm(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, logged: LogLines, times: int | None
):
    # Given Persist's READY write lands but its worker dies before answering (once, or on every attempt)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    _worker_dies(monkeypatch, "Persist", "Lambda.Unknown", times=times, after_call=True)

    # When the workflow runs
    run = run_workflow(request)

    # Then the image stays READY with its renditions; a repeated write of the same run passes, and even when the
    # retries run out the run ends as a success (AlreadySettled), with no ERROR line for an image that is fine
    assert run.end_state == ("Done" if times == 1 else "AlreadySettled"), run.path
    assert_settled(platform, request, ImageStatus.READY)
    assert [line["message"] for line in logged() if line["level"] == "ERROR"] == []


# --- events out of order ----------------------------------------------------------------------------------------------


def test_an_older_versions_late_event_during_the_newer_run_changes_nothing(platform: Platform, workflow: Workflow):
    # Given the run for the newest version of an original is in Watermark
    newer = platform.upload(samples.jpeg_with_exif_orientation())
    older = newer.model_copy(update={"run_id": f"{newer.image_id}-0000000000000001"})
    late_runs = []

    def older_event_arrives(state: dict[str, Any]) -> None:
        late_runs.append(workflow.start(older))

    # When the event of an older version arrives late and starts its own run
    run = workflow.start(newer, before={"Watermark": older_event_arrives})

    # Then the late run ends at Claim as AlreadyHandled, and the newer run makes the image READY alone
    assert [late.path for late in late_runs if late] == [["Claim", "AlreadyHandled"]]
    assert run is not None and run.path == HAPPY_PATH
    record = assert_settled(platform, newer, ImageStatus.READY)
    assert record.run_id == f"{newer.run_id}-{run.state['execution_token']}"


def test_an_original_deleted_before_validation_marks_failed_and_leaves_nothing(platform: Platform):
    request = platform.upload(samples.jpeg_with_exif_orientation())

    def original_lost(state: dict[str, Any]) -> None:
        platform.s3.delete_object(Bucket=request.bucket, Key=request.key)

    run = run_workflow(request, before={"Validate": original_lost})

    assert [error["Error"] for error in run.errors] == ["ObjectMissing"]
    assert_settled(platform, request, ImageStatus.FAILED)
