"""The orchestrator's logic: which queued S3 notifications start which workflow runs (with a fake Step Functions)."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest
from fake_store import FakeProcessingStore
from imgplat_common.keys import new_image_id, original_key
from imgplat_processing.orchestration import WorkflowStarts, start_workflows, start_workflows_for_batch
from imgplat_processing.workflow_state import run_id_for

BUCKET = "originals-bucket"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:workflow"
OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
TEST_EVENT = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})


class FakeStepFunctions:
    """The orchestrator's starter over the fake store's executions (a name can only ever be started once); the
    images in `failing_image_ids` find Step Functions unavailable."""

    def __init__(self, failing_image_ids: frozenset[str] = frozenset()) -> None:
        self.store = FakeProcessingStore()
        self.failing_image_ids = failing_image_ids

    @property
    def executions(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(execution.payload) for name, execution in self.store.executions.items()}

    def __call__(self, name: str, payload: str) -> bool:
        if json.loads(payload)["image_id"] in self.failing_image_ids:
            raise RuntimeError("Step Functions is unavailable")
        return self.store.start_execution(STATE_MACHINE_ARN, name, payload)


def notification(*keys: str, bucket: str = BUCKET, event_name: str = "ObjectCreated:Put", **object_fields: Any) -> str:
    """An S3 notification body as SQS delivers it; keys are URL-encoded the way S3 encodes them."""
    records = [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": event_name,
            "s3": {
                "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                "object": {"key": urllib.parse.quote_plus(key), "size": 1234, "eTag": "abc123", **object_fields},
            },
        }
        for key in keys
    ]
    return json.dumps({"Records": records})


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"message-{index}",
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def test_an_upload_starts_one_run_with_the_request_as_input():
    image_id = new_image_id()
    key = original_key(OWNER, image_id)
    step_functions = FakeStepFunctions()

    # Given a notification without a version id (an unversioned bucket, an emulator) but with a sequencer
    starts = start_workflows(notification(key, sequencer="0055AED6DCD90281E5"), BUCKET, step_functions)

    # Then one run starts, named after the object's ETag (the sequencer names no run: the reconciler never sees it)
    assert starts == WorkflowStarts(started=1, duplicates=0)
    (name, request), *_ = step_functions.executions.items()
    assert name == run_id_for(image_id, BUCKET, key, "abc123")
    # with a token of its own, which tells this execution from any other execution of the same run
    assert re.fullmatch(r"[0-9a-f]{16}", request.pop("execution_token"))
    assert request == {
        "bucket": BUCKET,
        "key": key,
        "owner": OWNER,
        "image_id": image_id,
        "size": 1234,
        "etag": "abc123",
        "version_id": None,
        "run_id": name,
    }


def test_the_same_message_twice_starts_one_run():
    body = notification(original_key(OWNER, new_image_id()))
    step_functions = FakeStepFunctions()

    first = start_workflows(body, BUCKET, step_functions)
    second = start_workflows(body, BUCKET, step_functions)

    assert (first, second) == (WorkflowStarts(started=1), WorkflowStarts(duplicates=1))
    assert len(step_functions.executions) == 1


def test_an_existing_execution_counts_as_a_duplicate_not_as_started():
    def already_exists(name: str, payload: str) -> bool:
        return False

    starts = start_workflows(notification(original_key(OWNER, new_image_id())), BUCKET, already_exists)

    assert starts == WorkflowStarts(started=0, duplicates=1)


def test_a_new_version_of_the_same_key_gets_a_new_run_id():
    image_id = new_image_id()
    key = original_key(OWNER, image_id)
    step_functions = FakeStepFunctions()

    start_workflows(notification(key, versionId="v1"), BUCKET, step_functions)
    start_workflows(notification(key, versionId="v2"), BUCKET, step_functions)

    assert len(step_functions.executions) == 2


def test_the_version_id_names_the_run_when_the_bucket_keeps_versions():
    image_id = new_image_id()
    key = original_key(OWNER, image_id)
    step_functions = FakeStepFunctions()

    start_workflows(notification(key, versionId="v1", sequencer="0055AED6DCD90281E5"), BUCKET, step_functions)

    assert list(step_functions.executions) == [run_id_for(image_id, BUCKET, key, "v1")]


def test_run_ids_are_valid_execution_names():
    run_id = run_id_for(new_image_id(), BUCKET, "originals/x/y", "")

    assert len(run_id) <= 80
    assert run_id.replace("-", "").isalnum()


def test_s3_test_event_is_skipped():
    step_functions = FakeStepFunctions()

    assert start_workflows(TEST_EVENT, BUCKET, step_functions) == WorkflowStarts()
    assert step_functions.executions == {}


def test_url_encoded_keys_are_decoded(caplog: pytest.LogCaptureFixture):
    # Given a platform key (its slashes arrive as %2F) and a foreign key with a space (arrives as +)
    image_id = new_image_id()
    key = original_key(OWNER, image_id)
    body = notification(key, "uploads/my holiday.jpg")
    assert "%2F" in body and "my+holiday" in body
    step_functions = FakeStepFunctions()

    start_workflows(body, BUCKET, step_functions)

    # Then the platform key is found as itself, and the other one is logged decoded and skipped
    assert [request["key"] for request in step_functions.executions.values()] == [key]
    assert [getattr(record, "key", None) for record in caplog.records if record.levelname == "WARNING"] == [
        "uploads/my holiday.jpg"
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(notification("uploads/photo.jpg"), id="outside-originals"),
        pytest.param(notification(f"originals/{OWNER}/not-an-image-id"), id="bad-image-id"),
        pytest.param(notification(f"originals/{OWNER}/{new_image_id()}/extra"), id="too-deep"),
        pytest.param(notification(f"originals/bad+owner!/{new_image_id()}"), id="bad-owner"),
        pytest.param(notification(original_key(OWNER, new_image_id()), bucket="someone-elses"), id="other-bucket"),
        pytest.param(notification(original_key(OWNER, new_image_id()), event_name="ObjectRemoved:Delete"), id="delete"),
        pytest.param("not json at all", id="not-json"),
        pytest.param(json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}), id="no-s3-part"),
    ],
)
def test_messages_the_platform_cannot_act_on_are_skipped_not_retried(body: str):
    step_functions = FakeStepFunctions()

    assert start_workflows(body, BUCKET, step_functions) == WorkflowStarts()
    assert step_functions.executions == {}


def test_one_failing_message_alone_goes_back_to_the_queue():
    # Given three messages, the second for an image whose run cannot be started right now
    failing_image_id = new_image_id()
    event = sqs_event(
        notification(original_key(OWNER, new_image_id())),
        notification(original_key(OWNER, failing_image_id)),
        TEST_EVENT,
    )
    step_functions = FakeStepFunctions(failing_image_ids=frozenset({failing_image_id}))

    # When the batch is handled
    response = start_workflows_for_batch(event, BUCKET, step_functions)

    # Then only that message is reported as failed; the others are done
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert len(step_functions.executions) == 1


def test_a_message_with_several_records_starts_each_and_retries_safely():
    keys = [original_key(OWNER, new_image_id()) for _ in range(3)]
    step_functions = FakeStepFunctions()

    start_workflows(notification(*keys), BUCKET, step_functions)
    again = start_workflows(notification(*keys), BUCKET, step_functions)

    assert again == WorkflowStarts(started=0, duplicates=3)
    assert sorted(request["key"] for request in step_functions.executions.values()) == sorted(keys)
