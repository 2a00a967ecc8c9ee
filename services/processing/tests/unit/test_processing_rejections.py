"""How a rejection travels from the step that found it to MarkRejected, through Lambda's error report."""

from __future__ import annotations

import json

import pytest
from imgplat_processing.rejections import ImageRejected
from imgplat_processing.workflow_state import DEFAULT_REJECTION, StepError, rejection_from, reports_rejections


def _caught_by_step_functions(error: Exception) -> StepError:
    """The $.error a Catch receives: Lambda reports the class name and str(exception)."""
    cause = json.dumps({"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []})
    return StepError.model_validate({"Error": type(error).__name__, "Cause": cause})


def test_code_and_reason_both_reach_mark_rejected():
    @reports_rejections
    def step() -> None:
        raise ImageRejected("truncated", "The image file is incomplete; please upload it again.")

    with pytest.raises(ImageRejected) as raised:
        step()

    caught = _caught_by_step_functions(raised.value)
    assert caught.error == "ImageRejected"  # the name the state machine's Catch matches
    assert rejection_from(caught) == ("truncated", "The image file is incomplete; please upload it again.")


@pytest.mark.parametrize(
    "error",
    [
        None,
        StepError.model_validate({"Error": "States.Timeout", "Cause": "The task timed out."}),
        StepError.model_validate({"Error": "ImageRejected", "Cause": json.dumps({"errorMessage": "plain text"})}),
    ],
)
def test_a_rejection_without_details_gets_the_generic_reason(error: StepError | None):
    assert rejection_from(error) == DEFAULT_REJECTION
