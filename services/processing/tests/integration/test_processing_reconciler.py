"""The reconciler on moto: stuck records found through upload's status index, re-driven or failed; and the poison
message that ends in the ingest DLQ, whose image the reconciler then ends (issue 5, point 6)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import processing_samples as samples
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from imgplat_common.keys import new_image_id, rendition_key, work_prefix
from imgplat_common.models import ImageRecord
from imgplat_common.settings import load_settings
from imgplat_common.status import ImageStatus
from imgplat_processing import store
from imgplat_processing.reconciliation import DID_NOT_FINISH, NO_UPLOAD, iso
from imgplat_processing.settings import ReconcilerSettings
from imgplat_processing.workflow_state import ProcessingRequest
from processing_harness import (
    INGEST_QUEUE_ARN,
    ORIGINALS_BUCKET,
    OWNER,
    RENDITIONS_BUCKET,
    LogLines,
    Platform,
    assert_settled,
    executions,
    invoke,
    published_metrics,
    run_workflow,
    serverless_functions,
    state_machine_definition,
)

from local.lambda_runtime import sqs_event

DEFAULTS = {name: field.default for name, field in ReconcilerSettings.model_fields.items()}
STUCK = timedelta(seconds=DEFAULTS["stuck_after_seconds"] + 60)
NEVER_UPLOADED = timedelta(seconds=DEFAULTS["upload_window_seconds"] + 60)


def _age(platform: Platform, owner: str, image_id: str, by: timedelta) -> None:
    """Time passes: the record's last write (and creation) lies `by` in the past."""
    then = iso(store.utc_now() - by)
    platform.table.update_item(
        Key={"owner": owner, "image_id": image_id},
        UpdateExpression="SET created_at = :then, updated_at = :then",
        ExpressionAttributeValues={":then": then},
    )


def _pending(platform: Platform, age: timedelta, original: bytes | None) -> ProcessingRequest:
    """A PENDING record `age` old, with its original uploaded or not."""
    if original is not None:
        request = platform.upload(original)
    else:
        image_id = new_image_id()
        record = ImageRecord.pending(OWNER, image_id, "image/jpeg", iso(store.utc_now()))
        key = record.original_key
        platform.table.put_item(Item=record.to_item())
        request = ProcessingRequest(
            bucket=ORIGINALS_BUCKET, key=key, owner=OWNER, image_id=image_id, size=0, run_id=f"{image_id}-0"
        )
    _age(platform, request.owner, request.image_id, age)
    return request


def _reconcile(capsys: pytest.CaptureFixture[str] | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    result = invoke("reconciler", {"source": "aws.events", "detail-type": "Scheduled Event"})
    return result, published_metrics(capsys.readouterr().out) if capsys else {}


def _request_of(execution: dict[str, Any]) -> ProcessingRequest:
    return ProcessingRequest.model_validate_json(execution["input"])


# --- PENDING with the original: re-driven once ------------------------------------------------------------------------


def test_an_upload_whose_run_never_started_is_redriven_once_and_becomes_ready(
    platform: Platform, state_machine_arn: str, capsys: pytest.CaptureFixture[str]
):
    # Given an original that arrived 16 minutes ago, whose notification never started a run (it is in the DLQ)
    request = _pending(platform, STUCK, samples.jpeg_with_exif_orientation())

    # When the reconciler runs
    result, metrics = _reconcile(capsys)

    # Then it starts one run for that object version, named deterministically
    assert result == {"redriven": [request.image_id], "failed": {}, "left": []}
    assert metrics == {
        "ImagesReconciled": 1,
        "ImagesRedriven": 1,
        "StuckImagesFailed": 0,
        "UnusedUploadsExpired": 0,
        "FailuresNotAnnounced": 0,
    }
    (execution,) = executions(state_machine_arn)
    redriven = _request_of(execution)
    assert execution["name"] == redriven.run_id and redriven.run_id.startswith(f"{request.image_id}-")
    assert (redriven.owner, redriven.key, redriven.size) == (request.owner, request.key, len(platform_bytes(platform)))

    # And when that run executes the workflow, the image becomes READY; the next rounds change nothing
    assert run_workflow(redriven).end_state == "Done"
    assert _reconcile()[0] == {"redriven": [], "failed": {}, "left": []}
    assert len(executions(state_machine_arn)) == 1
    assert_settled(platform, request, ImageStatus.READY)


def platform_bytes(platform: Platform) -> bytes:
    (key,) = [entry["Key"] for entry in platform.s3.list_objects_v2(Bucket=ORIGINALS_BUCKET)["Contents"]]
    return bytes(platform.s3.get_object(Bucket=ORIGINALS_BUCKET, Key=key)["Body"].read())


def test_a_redriven_run_that_is_still_running_is_left_alone_and_one_that_ended_without_a_status_is_failed(
    platform: Platform, state_machine_arn: str, monkeypatch: pytest.MonkeyPatch
):
    # Given the reconciler re-drove a stuck upload
    request = _pending(platform, STUCK, samples.jpeg_with_exif_orientation())
    _reconcile()
    (execution,) = executions(state_machine_arn)

    # When the next round (5 minutes later) finds it still PENDING while the run is RUNNING: left alone
    five_minutes_later = store.utc_now() + timedelta(minutes=5)
    monkeypatch.setattr(store, "utc_now", lambda: five_minutes_later)
    assert _reconcile()[0] == {"redriven": [], "failed": {}, "left": [request.image_id]}

    # When the run ended without ever claiming the image (stopped by an operator)
    boto3.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])
    result, _ = _reconcile()

    # Then the image is FAILED "processing did not finish", and no second run was started
    assert result["failed"] == {request.image_id: DID_NOT_FINISH}
    assert len(executions(state_machine_arn)) == 1
    record = assert_settled(platform, request, ImageStatus.FAILED)
    assert record.reason == DID_NOT_FINISH


# --- PENDING without an original --------------------------------------------------------------------------------------


def test_a_record_whose_upload_url_may_still_be_used_is_left_pending(platform: Platform, state_machine_arn: str):
    request = _pending(platform, STUCK, original=None)

    assert _reconcile()[0] == {"redriven": [], "failed": {}, "left": [request.image_id]}
    assert platform.record(request).status is ImageStatus.PENDING
    assert executions(state_machine_arn) == []


def test_a_record_whose_upload_never_came_is_failed_as_no_upload_received(
    platform: Platform, state_machine_arn: str, logged: LogLines, capsys: pytest.CaptureFixture[str]
):
    # Given a record whose upload URL expired over an hour ago, unused
    request = _pending(platform, NEVER_UPLOADED, original=None)

    result, metrics = _reconcile(capsys)

    # Then it is FAILED with the reason and an error id (kept, so the owner sees what happened), no run is started
    assert result["failed"] == {request.image_id: NO_UPLOAD}
    record = assert_settled(platform, request, ImageStatus.FAILED)
    assert record.reason == NO_UPLOAD
    assert executions(state_machine_arn) == []
    (line,) = [line for line in logged() if line["message"] == "stuck image failed by the reconciler"]
    assert (line["error_id"], line["correlation_id"]) == (record.error_id, request.image_id)
    # And nobody is paged for a user who never uploaded: counted apart from the alarm's lost images, logged as INFO
    assert (metrics["StuckImagesFailed"], metrics["UnusedUploadsExpired"]) == (0, 1)
    assert line["level"] == "INFO"


def test_a_failure_the_bus_refuses_to_announce_is_counted_for_its_alarm_and_logged_whole(
    platform: Platform,
    state_machine_arn: str,
    logged: LogLines,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    # Given a record the reconciler will fail, and a bus that refuses every event
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    load_settings.cache_clear()
    request = _pending(platform, NEVER_UPLOADED, original=None)

    result, metrics = _reconcile(capsys)

    # Then the image is still FAILED, its unannounced failure pages (subscribers never heard of it), and the log
    # holds the event to put back
    assert result["failed"] == {request.image_id: NO_UPLOAD}
    assert metrics["FailuresNotAnnounced"] == 1
    (line,) = [line for line in logged() if line["message"] == "ImageFailed not published"]
    assert line["event"]["DetailType"] == "ImageFailed" and request.image_id in line["event"]["Detail"]


# --- PROCESSING past the deadline -------------------------------------------------------------------------------------


def test_an_image_processing_past_the_deadline_is_failed_and_its_partial_output_removed(
    platform: Platform, state_machine_arn: str
):
    # Given a run claimed the image 16 minutes ago, wrote work files and renditions, and then its execution ended
    # without a final status (it timed out, or its MarkFailed failed)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    invoke("claim", request.model_dump(mode="json"))
    written = [
        f"{work_prefix(request.owner, request.image_id, request.run_id)}large.rgb",
        rendition_key(request.owner, request.image_id, "ab" * 32, "large", "jpeg"),
    ]
    for key in written:
        platform.s3.put_object(Bucket=RENDITIONS_BUCKET, Key=key, Body=b"partial")
    _age(platform, request.owner, request.image_id, STUCK)

    result, _ = _reconcile()

    assert result["failed"] == {request.image_id: DID_NOT_FINISH}
    assert assert_settled(platform, request, ImageStatus.FAILED).reason == DID_NOT_FINISH
    assert executions(state_machine_arn) == []


def test_records_within_their_deadline_and_finished_ones_are_not_touched(platform: Platform, state_machine_arn: str):
    fresh_pending = _pending(platform, timedelta(minutes=1), samples.jpeg_with_exif_orientation())
    processing = platform.upload(samples.jpeg_with_exif_orientation(), run_suffix="1111111111111111")
    invoke("claim", processing.model_dump(mode="json"))
    ready = platform.upload(samples.jpeg_with_exif_orientation(), run_suffix="2222222222222222")
    run_workflow(ready)
    _age(platform, ready.owner, ready.image_id, NEVER_UPLOADED)
    before = {request.image_id: platform.item(request) for request in (fresh_pending, processing, ready)}

    assert _reconcile()[0] == {"redriven": [], "failed": {}, "left": []}

    assert {request.image_id: platform.item(request) for request in (fresh_pending, processing, ready)} == before
    assert executions(state_machine_arn) == []


def test_a_record_that_moves_on_while_the_reconciler_looks_at_it_is_left_to_its_run(
    platform: Platform, state_machine_arn: str, monkeypatch: pytest.MonkeyPatch
):
    # Given a PROCESSING record past the deadline, whose run finishes just after the reconciler read the index
    request = platform.upload(samples.jpeg_with_exif_orientation())
    invoke("claim", request.model_dump(mode="json"))
    _age(platform, request.owner, request.image_id, STUCK)
    real_query = store.processing_store().records_in_status_before

    def run_finishes_meanwhile(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        found = real_query(*args, **kwargs)
        if found:
            platform.table.update_item(
                Key={"owner": request.owner, "image_id": request.image_id},
                UpdateExpression="SET #status = :ready, updated_at = :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":ready": "READY", ":now": iso(store.utc_now())},
            )
        return found

    monkeypatch.setattr(store.processing_store(), "records_in_status_before", run_finishes_meanwhile)

    assert _reconcile()[0] == {"redriven": [], "failed": {}, "left": []}
    assert platform.record(request).status is ImageStatus.READY


# --- the poison message -----------------------------------------------------------------------------------------------


def test_a_poison_message_ends_in_the_dlq_and_the_reconciler_fails_its_image_with_an_alarm_metric(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # Given the ingest queue as upload makes it (a redrive policy to a DLQ), and a workflow that cannot be started
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    max_receive_count = 3
    queue_url = sqs.create_queue(
        QueueName="ingest",
        Attributes={
            "VisibilityTimeout": "0",  # a failed message is visible again at once (seconds later on AWS)
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:broken")
    load_settings.cache_clear()
    request = platform.upload(samples.jpeg_with_exif_orientation())
    notification = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": ORIGINALS_BUCKET}, "object": {"key": request.key, "size": request.size}},
            }
        ]
    }
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(notification))

    # When Lambda's event source keeps delivering it and the orchestrator fails on it every time
    deliveries = 0
    while messages := sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"]).get("Messages", []):
        deliveries += 1
        batch = sqs_event(messages, INGEST_QUEUE_ARN)
        try:
            failed = {item["itemIdentifier"] for item in invoke("orchestrator", batch)["batchItemFailures"]}
        except BatchProcessingError:  # every message failed: the invocation fails, SQS keeps the whole batch
            failed = {message["MessageId"] for message in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        assert deliveries <= max_receive_count, "the message should have moved to the DLQ"

    # Then after maxReceiveCount deliveries it is in the DLQ (whose depth alarm calls a human), the image PENDING
    assert deliveries == max_receive_count
    (dead,) = sqs.receive_message(QueueUrl=dlq_url).get("Messages", [])
    assert json.loads(dead["Body"]) == notification
    assert platform.record(request).status is ImageStatus.PENDING
    capsys.readouterr()

    # And when the reconciler runs after the deadline (the workflow still cannot start)
    _age(platform, request.owner, request.image_id, STUCK)
    result, metrics = _reconcile(capsys)

    # Then the image is FAILED "processing did not finish" with an error id, and the alarm metric counts it
    assert result["failed"] == {request.image_id: DID_NOT_FINISH}
    assert metrics == {
        "ImagesReconciled": 1,
        "ImagesRedriven": 0,
        "StuckImagesFailed": 1,
        "UnusedUploadsExpired": 0,
        "FailuresNotAnnounced": 0,
    }
    assert assert_settled(platform, request, ImageStatus.FAILED).reason == DID_NOT_FINISH


# --- configuration ----------------------------------------------------------------------------------------------------


def test_a_stuck_record_is_older_than_any_run_of_the_workflow_can_be():
    assert DEFAULTS["stuck_after_seconds"] > state_machine_definition()["TimeoutSeconds"]
    # upload's longest pre-signed URL lifetime (UploadSettings.upload_url_expires_seconds le=3600) plus a margin
    assert DEFAULTS["upload_window_seconds"] > 3600


def test_the_reconciler_runs_every_five_minutes_and_may_only_query_the_status_index():
    reconciler = serverless_functions()["reconciler"]
    (event,) = reconciler["events"]
    assert event["schedule"] == {"rate": "rate(5 minutes)", "enabled": "${param:reconcilerEnabled}"}
    statements = reconciler["iamRoleStatements"]
    dynamodb = {action: s["Resource"] for s in statements for action in s["Action"] if action.startswith("dynamodb:")}
    assert dynamodb == {
        "dynamodb:Query": "${param:imagesTableArn}/index/${param:imagesStatusIndexName}",
        "dynamodb:UpdateItem": "${param:imagesTableArn}",
    }
    assert not any(action.endswith(("Scan", "*")) for s in statements for action in s["Action"])
    assert reconciler["environment"]["IMAGES_STATUS_INDEX"] == "${param:imagesStatusIndexName}"
