"""The orchestrator handler on moto: real S3 notifications through a real queue start real (recorded) executions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from imgplat_common.keys import new_image_id, original_key
from imgplat_common.settings import load_settings
from imgplat_processing import store
from processing_harness import (
    INGEST_QUEUE_ARN,
    ORIGINALS_BUCKET,
    OWNER,
    LogLines,
    Platform,
    executions,
    invoke,
    published_metrics,
)

from local.lambda_runtime import sqs_event


@pytest.fixture
def ingest_queue_url(platform: Platform) -> str:
    """The upload service's wiring: ObjectCreated on originals/ -> the ingest queue."""
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="ingest")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    platform.s3.put_bucket_notification_configuration(
        Bucket=ORIGINALS_BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "originals/"}]}},
                }
            ]
        },
    )
    return queue_url


def _delivered_batch(queue_url: str) -> dict[str, Any]:
    """What Lambda's SQS event source hands the function for the messages now in the queue."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    return sqs_event(messages, INGEST_QUEUE_ARN)


def test_uploaded_original_starts_one_named_execution(
    platform: Platform, state_machine_arn: str, ingest_queue_url: str
):
    # Given an original uploaded to its platform key (S3 first sends its test event, then the ObjectCreated one)
    image_id = new_image_id()
    key = original_key(OWNER, image_id)
    platform.s3.put_object(Bucket=ORIGINALS_BUCKET, Key=key, Body=b"image bytes")
    batch = _delivered_batch(ingest_queue_url)
    assert len(batch["Records"]) == 2

    # When the orchestrator gets the batch
    response = invoke("orchestrator", batch)

    # Then every message is done and exactly one execution runs, named by the run id, with the request as input
    assert response == {"batchItemFailures": []}
    (execution,) = executions(state_machine_arn)
    request = json.loads(execution["input"])
    assert (request["bucket"], request["key"], request["owner"], request["image_id"]) == (
        ORIGINALS_BUCKET,
        key,
        OWNER,
        image_id,
    )
    assert request["size"] == len(b"image bytes")
    assert execution["name"] == request["run_id"]
    assert request["run_id"].startswith(f"{image_id}-")


def test_redelivered_batch_starts_no_second_execution(
    platform: Platform, state_machine_arn: str, ingest_queue_url: str
):
    platform.s3.put_object(Bucket=ORIGINALS_BUCKET, Key=original_key(OWNER, new_image_id()), Body=b"image bytes")
    batch = _delivered_batch(ingest_queue_url)

    first = invoke("orchestrator", batch)
    second = invoke("orchestrator", batch)

    assert first == second == {"batchItemFailures": []}
    assert len(executions(state_machine_arn)) == 1


def test_redelivery_while_the_run_is_running_counts_as_deduplicated_not_started(
    platform: Platform,
    state_machine_arn: str,
    ingest_queue_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    # Given a batch that started a run, which is still running
    platform.s3.put_object(Bucket=ORIGINALS_BUCKET, Key=original_key(OWNER, new_image_id()), Body=b"image bytes")
    batch = _delivered_batch(ingest_queue_url)
    invoke("orchestrator", batch)
    assert published_metrics(capsys.readouterr().out) == {"WorkflowsStarted": 1, "WorkflowsDeduplicated": 0}

    # When SQS delivers the same batch again a minute later (Step Functions answers a repeated start of a running
    # execution with the same input with success, not with ExecutionAlreadyExists)
    a_minute_later = store.utc_now() + timedelta(minutes=1)
    monkeypatch.setattr(store, "utc_now", lambda: a_minute_later)
    invoke("orchestrator", batch)

    # Then the run is counted as a duplicate, not as a second start
    assert published_metrics(capsys.readouterr().out) == {"WorkflowsStarted": 0, "WorkflowsDeduplicated": 1}
    assert len(executions(state_machine_arn)) == 1


def test_orchestrator_logs_each_run_with_its_image_id_as_correlation_id(
    platform: Platform, state_machine_arn: str, ingest_queue_url: str, logged: LogLines
):
    image_id = new_image_id()
    platform.s3.put_object(Bucket=ORIGINALS_BUCKET, Key=original_key(OWNER, image_id), Body=b"image bytes")

    invoke("orchestrator", _delivered_batch(ingest_queue_url))

    (started,) = [line for line in logged() if line["message"] == "workflow started"]
    assert started["correlation_id"] == image_id
    assert started["run_id"].startswith(f"{image_id}-")
    assert all("correlation_id" not in line for line in logged() if line["message"] != "workflow started")


def test_foreign_object_starts_nothing_and_is_not_retried(
    platform: Platform, state_machine_arn: str, ingest_queue_url: str
):
    platform.s3.put_object(Bucket=ORIGINALS_BUCKET, Key="originals/someone/../../etc/passwd", Body=b"x")

    response = invoke("orchestrator", _delivered_batch(ingest_queue_url))

    assert response == {"batchItemFailures": []}
    assert executions(state_machine_arn) == []


def test_unavailable_workflow_returns_the_message_to_the_queue(platform: Platform, ingest_queue_url: str, monkeypatch):
    # Given a state machine that does not exist (deleted, or the ARN is wrong)
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:missing")
    load_settings.cache_clear()
    platform.s3.put_object(Bucket=ORIGINALS_BUCKET, Key=original_key(OWNER, new_image_id()), Body=b"image bytes")
    batch = _delivered_batch(ingest_queue_url)
    upload_message = next(r["messageId"] for r in batch["Records"] if "ObjectCreated" in r["body"])

    response = invoke("orchestrator", batch)

    assert response == {"batchItemFailures": [{"itemIdentifier": upload_message}]}
