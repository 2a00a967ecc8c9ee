"""The workflow's events on moto: the real handlers publish through the real store to the bus, a rule delivers them
to a subscriber's queue, and a PutEvents answer with FailedEntryCount is retried, never dropped."""

from __future__ import annotations

import json
from typing import Any

import boto3
import processing_samples as samples
import pytest
from imgplat_common.settings import load_settings
from imgplat_common.status import ImageStatus
from imgplat_processing import store
from imgplat_processing.ports import EventPublishFailed
from processing_harness import EVENT_BUS, Platform, run_workflow


@pytest.fixture
def subscriber(platform: Platform) -> str:
    """A queue with a rule on the test bus for every platform event (what examples/event-consumer declares)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=EVENT_BUS, EventPattern=json.dumps({"source": ["imgplat.processing"]}))
    events.put_targets(Rule="all", EventBusName=EVENT_BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
    return str(queue_url)


def _delivered(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_processed_image_is_delivered_to_a_subscriber_as_image_ready(platform: Platform, subscriber: str):
    request = platform.upload(samples.jpeg_with_exif_orientation((1200, 800), orientation=1))

    run = run_workflow(request)

    assert run.end_state == "Done"
    (event,) = _delivered(subscriber)
    assert (event["detail-type"], event["source"]) == ("ImageReady", "imgplat.processing")
    assert (event["detail"]["image_id"], event["detail"]["owner"]) == (request.image_id, request.owner)
    record = platform.record(request)
    assert {r["name"]: (r["width"], r["height"]) for r in event["detail"]["renditions"]} == {
        name: (rendition.files["jpeg"].width, rendition.files["jpeg"].height)
        for name, rendition in record.renditions.items()
    }


def test_a_rejected_upload_is_delivered_as_image_rejected_with_the_records_reason(platform: Platform, subscriber: str):
    request = platform.upload(samples.truncated_jpeg())

    run_workflow(request)

    (event,) = _delivered(subscriber)
    assert event["detail-type"] == "ImageRejected"
    assert event["detail"]["reason"] == platform.record(request).reason


class _RefusingFirstPut:
    """An EventBridge client whose first PutEvents answers 200 with the entry refused, as AWS does under throttling."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.refused = 0

    def put_events(self, **kwargs: Any) -> Any:
        if not self.refused:
            self.refused += 1
            entry = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            return {"FailedEntryCount": 1, "Entries": [entry]}
        return self.real.put_events(**kwargs)


def test_a_refused_entry_is_retried_by_the_workflow_and_delivered_once(
    platform: Platform, subscriber: str, monkeypatch: pytest.MonkeyPatch
):
    # Given EventBridge refuses the first entry (HTTP 200, FailedEntryCount 1)
    refusing = _RefusingFirstPut(boto3.client("events"))
    monkeypatch.setattr(store.processing_store(), "_events", lambda: refusing)
    request = platform.upload(samples.jpeg_with_exif_orientation((1200, 800), orientation=1))

    # When the workflow runs, then Persist fails as a TransientError, is retried, and the run still ends READY
    run = run_workflow(request)

    assert run.end_state == "Done"
    assert ("Persist", EventPublishFailed.__name__) in run.retried
    assert platform.record(request).status is ImageStatus.READY
    (event,) = _delivered(subscriber)
    assert event["detail-type"] == "ImageReady" and refusing.refused == 1


def test_a_ready_image_whose_event_is_never_taken_ends_the_run_failed_not_marked_failed(
    platform: Platform, subscriber: str, monkeypatch: pytest.MonkeyPatch
):
    # Given a bus that does not exist (a permanent refusal: every retry of Persist's publish fails)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    load_settings.cache_clear()
    request = platform.upload(samples.jpeg_with_exif_orientation((1200, 800), orientation=1))

    run = run_workflow(request)

    # Then the record stays READY (the image is served) and the run ends in the alarmed Fail state, not in MarkFailed
    assert run.end_state == "ReadyNotAnnounced"
    assert "MarkFailed" not in run.path
    assert platform.record(request).status is ImageStatus.READY
    assert _delivered(subscriber) == []


class _WorkerKilled(Exception):
    lambda_error_type = "Lambda.Unknown"  # what the harness reports for it, as Step Functions does for a dead worker


def test_a_persist_that_dies_after_its_write_on_every_attempt_still_announces_the_image_once(
    platform: Platform, subscriber: str, monkeypatch: pytest.MonkeyPatch
):
    # Given Persist's READY write lands on every attempt but its worker dies before it can publish
    request = platform.upload(samples.jpeg_with_exif_orientation((1200, 800), orientation=1))
    the_store = store.processing_store()
    real_transition = the_store.transition

    def dies_after_ready(*args: Any, **kwargs: Any) -> Any:
        written = real_transition(*args, **kwargs)
        if kwargs.get("target") is ImageStatus.READY:
            raise _WorkerKilled("Runtime exited with error: signal: killed")
        return written

    monkeypatch.setattr(the_store, "transition", dies_after_ready)

    # When the workflow runs out of Persist's retries and goes to MarkFailed
    run = run_workflow(request)

    # Then the record stays READY, the run ends quietly, and the ImageReady Persist owed is delivered, once
    assert run.end_state == "AlreadySettled", run.path
    assert platform.record(request).status is ImageStatus.READY
    (event,) = _delivered(subscriber)
    assert (event["detail-type"], event["detail"]["image_id"]) == ("ImageReady", request.image_id)
    assert len(event["detail"]["renditions"]) == len(platform.record(request).renditions)
