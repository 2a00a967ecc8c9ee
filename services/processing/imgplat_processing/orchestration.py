"""From S3 notifications (delivered through the ingest queue) to workflow runs, one per object version.

An SQS message holds one S3 notification with any number of records. Messages the platform cannot act on (S3's
test event, keys it did not make, other buckets, other event types, unreadable bodies) are logged and dropped:
retrying them could never succeed, it would only fill the dead-letter queue.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.events import S3_TEST_EVENT, S3EventRecord, S3Notification
from imgplat_common.keys import InvalidKeyError
from imgplat_common.observability import MetricUnit, logger, metrics
from pydantic import ValidationError

from imgplat_processing.workflow_state import ProcessingRequest


class WorkflowStarter(Protocol):
    def __call__(self, name: str, payload: str) -> bool:
        """Start a workflow run named `name` with input `payload`; False when that run already exists."""
        ...


def processing_requests(body: str, originals_bucket: str) -> list[ProcessingRequest]:
    """The workflow inputs an SQS message body asks for (possibly none)."""
    try:
        notification = S3Notification.model_validate_json(body)
    except ValidationError:
        logger.warning("skipping a message that is not an S3 notification", extra={"body_prefix": body[:200]})
        return []
    if notification.event == S3_TEST_EVENT:
        logger.info("skipping the S3 test event")
        return []
    requests = []
    for record in notification.records:
        request = _request_for(record, originals_bucket)
        if request is not None:
            requests.append(request)
    return requests


def _request_for(record: S3EventRecord, originals_bucket: str) -> ProcessingRequest | None:
    bucket = record.s3.bucket.name
    key = urllib.parse.unquote_plus(record.s3.object.key)  # S3 sends keys URL-encoded ("/" as %2F, " " as +)
    if not record.event_name.startswith("ObjectCreated"):
        logger.info("skipping an event that creates no object", extra={"event_name": record.event_name, "key": key})
        return None
    if originals_bucket and bucket != originals_bucket:
        logger.warning("skipping an event from another bucket", extra={"bucket": bucket, "key": key})
        return None
    info = record.s3.object
    try:
        return ProcessingRequest.for_object(bucket, key, size=info.size, version_id=info.version_id, etag=info.e_tag)
    except InvalidKeyError:
        logger.warning("skipping a key the platform did not make", extra={"bucket": bucket, "key": key})
        return None


@dataclass(frozen=True)
class WorkflowStarts:
    """What one message led to: runs newly started, and runs that already existed (duplicate or late events)."""

    started: int = 0
    duplicates: int = 0


def start_workflows(body: str, originals_bucket: str, start: WorkflowStarter) -> WorkflowStarts:
    """Start one workflow run per object the message announces; count new runs and runs that already existed.

    A run that already exists (a duplicate or late event) counts as done. Any other failure raises, so that this
    message alone goes back to the queue; runs it already started are not started twice when it comes back.
    """
    started = duplicates = 0
    for request in processing_requests(body, originals_bucket):
        with _logging_for(request):
            if start(request.run_id, request.execution_input()):
                logger.info("workflow started")
                started += 1
            else:
                logger.info("workflow already started")
                duplicates += 1
    return WorkflowStarts(started=started, duplicates=duplicates)


def start_workflows_for_batch(
    event: dict[str, Any], originals_bucket: str, start: WorkflowStarter, context: LambdaContext | None = None
) -> PartialItemFailureResponse:
    """Handle an SQS batch message by message; the answer lists only the messages that failed, for a retry."""

    def start_for_message(record: SQSRecord) -> WorkflowStarts:
        starts = start_workflows(record.body, originals_bucket, start)
        metrics.add_metric(name="WorkflowsStarted", unit=MetricUnit.Count, value=starts.started)
        metrics.add_metric(name="WorkflowsDeduplicated", unit=MetricUnit.Count, value=starts.duplicates)
        return starts

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=start_for_message, processor=processor, context=context)


@contextmanager
def _logging_for(request: ProcessingRequest) -> Iterator[None]:
    """Log what happens to one request under its image id (the correlation id of every step's logs) and run id."""
    logger.set_correlation_id(request.image_id)
    logger.append_keys(run_id=request.run_id)
    try:
        yield
    finally:
        logger.remove_keys(["run_id"])
        logger.set_correlation_id(None)
