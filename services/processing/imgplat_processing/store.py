"""The processing service's only AWS code: ProcessingStore, the ports (ports.py) over S3, DynamoDB and Step Functions.

Clients are made once per container, on first use (a step that only writes the table never makes an S3 client).
botocore errors are translated here into the errors of ports.py: `TransientError` (Step Functions retries it,
matching on the class name), `ConditionFailed` (a status write found the record elsewhere in its lifecycle) and
`ObjectMissing`. An event EventBridge did not take, for whatever reason, becomes `EventPublishFailed` (a
TransientError the workflow also names on its own): the step is retried and publishes it under the same event id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from imgplat_common import image_events, object_deletion
from imgplat_common.aws_errors import CONDITIONAL_CHECK_FAILED, error_code, http_status, is_transient
from imgplat_common.item_table import ItemTable
from imgplat_common.models import utc_now_iso
from imgplat_common.status import ImageStatus, statuses_allowed_before

from imgplat_processing.ports import (
    ConditionFailed,
    EventPublishFailed,
    ObjectMissing,
    ObjectVersion,
    ReadyByThisRun,
    RecordMissing,
    TransientError,
)

# botocore retries throttling a few times itself; what is still failing after that becomes a TransientError.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# How far the clocks of Lambda and Step Functions may disagree when telling a new execution from an earlier one.
CLOCK_SKEW_MARGIN = timedelta(seconds=1)


ClientProvider = Callable[[], Any]


@functools.cache
def s3_client() -> Any:
    return boto3.client("s3", config=_CLIENT_CONFIG)


@functools.cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


@functools.cache
def stepfunctions_client() -> Any:
    return boto3.client("stepfunctions", config=_CLIENT_CONFIG)


@functools.cache
def events_client() -> Any:
    return boto3.client("events", config=_CLIENT_CONFIG)


@functools.cache
def processing_store() -> ProcessingStore:
    """The store of this container (tests call processing_store.cache_clear() with the client caches)."""
    return ProcessingStore(
        s3=s3_client, dynamodb=dynamodb_client, stepfunctions=stepfunctions_client, events=events_client
    )


def _ready_by(item: Mapping[str, Any], run_id: str) -> bool:
    """Whether a refused write's record (DynamoDB's typed form, {"S": ...}) is READY by run `run_id`."""
    status, owner_run = item.get("status") or {}, item.get("run_id") or {}
    return status.get("S") == ImageStatus.READY.value and owner_run.get("S") == run_id


def utc_now() -> datetime:
    """The current time (a function, so tests can move the clock)."""
    return datetime.now(UTC)


@contextmanager
def _translated_errors(what: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code == CONDITIONAL_CHECK_FAILED:
            raise ConditionFailed(what) from error
        if code in _MISSING_CODES:
            raise ObjectMissing(what) from error
        if is_transient(error):
            raise TransientError(f"{what}: {code or http_status(error)}") from error
        raise
    except object_deletion.ObjectsNotDeleted as error:
        raise TransientError(f"{what}: {error}") from error
    except (BotocoreConnectionError, HTTPClientError) as error:
        raise TransientError(f"{what}: {type(error).__name__}") from error


def _set_fields(fields: Mapping[str, Any], names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """The `#fN = :fN` assignments of `fields`, their names and values added to the expression's maps."""
    assignments = []
    for index, (name, value) in enumerate(fields.items()):
        names[f"#f{index}"] = name
        values[f":f{index}"] = value
        assignments.append(f"#f{index} = :f{index}")
    return assignments


class ProcessingStore:
    """S3 objects, the images table, the workflow's executions and the platform's events (ports.StepStore,
    WorkflowStarter and ReconcilerStore). Each client is asked of its provider on use, so only the clients a function
    uses are made."""

    def __init__(
        self,
        s3: ClientProvider,
        dynamodb: ClientProvider,
        stepfunctions: ClientProvider,
        events: ClientProvider,
    ) -> None:
        self._s3 = s3
        self._dynamodb = dynamodb
        self._stepfunctions = stepfunctions
        self._events = events

    # --- S3 ---------------------------------------------------------------------------------------------------------

    def object_size(self, bucket: str, key: str) -> int:
        """The size in bytes of an object, from its headers (nothing is downloaded)."""
        with _translated_errors(f"head s3://{bucket}/{key}"):
            return int(self._s3().head_object(Bucket=bucket, Key=key)["ContentLength"])

    def read_object(self, bucket: str, key: str) -> bytes:
        with _translated_errors(f"get s3://{bucket}/{key}"):
            return bytes(self._s3().get_object(Bucket=bucket, Key=key)["Body"].read())

    def write_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str,
        kms_key_arn: str,
        cache_control: str | None = None,
    ) -> None:
        """Put an object encrypted with the platform key (the bucket default too; being explicit survives a change)."""
        extra: dict[str, str] = {"CacheControl": cache_control} if cache_control else {}
        with _translated_errors(f"put s3://{bucket}/{key}"):
            self._s3().put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=kms_key_arn,
                BucketKeyEnabled=True,
                **extra,
            )

    def tag_object(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace the object's tags (lifecycle rules act on them)."""
        tag_set = [{"Key": name, "Value": value} for name, value in tags.items()]
        with _translated_errors(f"tag s3://{bucket}/{key}"):
            self._s3().put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object below `prefix`; returns how many there were."""
        with _translated_errors(f"delete s3://{bucket}/{prefix}*"):
            return object_deletion.delete_prefix(self._s3(), bucket, prefix)

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete these objects; keys that do not exist are fine."""
        with _translated_errors(f"delete objects in s3://{bucket}"):
            object_deletion.delete_keys(self._s3(), bucket, keys)

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete this one object by its key (one DeleteObject, no listing); a key that does not exist is fine."""
        with _translated_errors(f"delete s3://{bucket}/{key}"):
            self._s3().delete_object(Bucket=bucket, Key=key)

    def object_version(self, bucket: str, key: str) -> ObjectVersion | None:
        """The size, ETag and version id of an object, from its headers; None when it is not there."""
        try:
            with _translated_errors(f"head s3://{bucket}/{key}"):
                head = self._s3().head_object(Bucket=bucket, Key=key)
        except ObjectMissing:
            return None
        return ObjectVersion(
            size=int(head["ContentLength"]),
            etag=str(head.get("ETag", "")).strip('"') or None,
            version_id=head.get("VersionId"),
        )

    # --- the images table -------------------------------------------------------------------------------------------

    def transition(
        self,
        table_name: str,
        *,
        owner: str,
        image_id: str,
        target: ImageStatus,
        run_id: str,
        fields: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """Move the record to `target` for workflow run `run_id` and set `fields`, or raise ConditionFailed; the
        record as the write left it (Claim reads what the client declared from it, in the same request).

        The condition comes from imgplat_common.status: the record must be in a status that may move to `target`
        (PROCESSING only when this run claimed it). A retried step of the same run finds its own write already done
        and may repeat it, so every step is idempotent. A missing record never matches, so nothing is ever created.
        """
        names = {"#status": "status", "#run_id": "run_id", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":target": target.value, ":run_id": run_id, ":now": utc_now_iso()}
        allowed: list[str] = []
        for status in statuses_allowed_before(target):
            values[f":from_{status.value}"] = status.value
            if status is ImageStatus.PROCESSING:
                allowed.append(f"(#status = :from_{status.value} AND #run_id = :run_id)")
            else:
                allowed.append(f"#status = :from_{status.value}")
        allowed.append("(#status = :target AND #run_id = :run_id)")
        assignments = ["#status = :target", "#run_id = :run_id", "#updated_at = :now"]
        assignments += _set_fields(fields or {}, names, values)

        what = f"{target.value} {owner}/{image_id} by {run_id}"
        table = ItemTable(self._dynamodb(), table_name)
        try:
            with _translated_errors(what):
                written = table.update_item(
                    Key={"owner": owner, "image_id": image_id},
                    UpdateExpression="SET " + ", ".join(assignments),
                    ConditionExpression=" OR ".join(allowed),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    # A refusal then carries the record as it is: none at all means the image was deleted.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as refused:
            cause = refused.__cause__
            if isinstance(cause, ClientError) and not cause.response.get("Item"):
                raise RecordMissing(what) from cause
            if isinstance(cause, ClientError) and _ready_by(cause.response["Item"], run_id):
                raise ReadyByThisRun(what) from cause
            raise
        return dict(written.get("Attributes", {}))

    def records_in_status_before(
        self, table_name: str, index_name: str, status: ImageStatus, updated_before: str, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` records in `status` whose last write is older than `updated_before` (oldest first).

        A Query on upload's status/updated_at index (never a Scan): the index holds the keys, status, updated_at and
        run_id of every record, so the cost grows with the records found, not with the table.
        """
        table = ItemTable(self._dynamodb(), table_name)
        query: dict[str, Any] = {
            "IndexName": index_name,
            "KeyConditionExpression": "#status = :status AND #updated_at < :before",
            "ExpressionAttributeNames": {"#status": "status", "#updated_at": "updated_at"},
            "ExpressionAttributeValues": {":status": status.value, ":before": updated_before},
            "Limit": limit,
        }
        items: list[dict[str, Any]] = []
        with _translated_errors(f"query {index_name} for {status.value}"):
            while len(items) < limit:
                page = table.query(**query)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items[:limit]

    def fail_if_unchanged(
        self,
        table_name: str,
        *,
        owner: str,
        image_id: str,
        status: ImageStatus,
        updated_at: str,
        fields: Mapping[str, Any],
    ) -> bool:
        """FAILED with `fields`, only if the record is still in `status` and unchanged since `updated_at`.

        False when the record moved on (or is gone) since it was read: a run finished it meanwhile, nothing is written.
        """
        names = {"#status": "status", "#updated_at": "updated_at"}
        values: dict[str, Any] = {
            ":failed": ImageStatus.FAILED.value,
            ":seen_status": status.value,
            ":seen_at": updated_at,
            ":now": utc_now_iso(),
        }
        assignments = ["#status = :failed", "#updated_at = :now", *_set_fields(fields, names, values)]
        try:
            with _translated_errors(f"fail {owner}/{image_id}"):
                ItemTable(self._dynamodb(), table_name).update_item(
                    Key={"owner": owner, "image_id": image_id},
                    UpdateExpression="SET " + ", ".join(assignments),
                    ConditionExpression="#status = :seen_status AND #updated_at = :seen_at",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except ConditionFailed:
            return False
        return True

    # --- the workflow -----------------------------------------------------------------------------------------------

    def start_execution(self, state_machine_arn: str, name: str, payload: str) -> bool:
        """Start an execution named `name`; False when one of that name already exists (a duplicate event).

        Step Functions refuses a second start with ExecutionAlreadyExists, except when the first execution is still
        running and the input is the same: then it answers with success and the first start's date. Only an
        execution that started after we asked (less a margin for clock skew) is a new one.
        """
        asked_at = utc_now()
        try:
            with _translated_errors(f"start {name}"):
                response = self._stepfunctions().start_execution(
                    stateMachineArn=state_machine_arn, name=name, input=payload
                )
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                return False
            raise
        started_at: datetime = response["startDate"]
        return started_at >= asked_at - CLOCK_SKEW_MARGIN

    def execution_status(self, state_machine_arn: str, name: str) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED: the status of this state machine's execution `name`."""
        prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
        execution_arn = f"{prefix}:execution:{machine}:{name}"
        with _translated_errors(f"describe {name}"):
            return str(self._stepfunctions().describe_execution(executionArn=execution_arn)["status"])

    # --- the platform's events --------------------------------------------------------------------------------------

    def publish_event(self, event_bus_name: str, event: image_events.ImageEvent) -> None:
        """Put `event` on the bus; EventPublishFailed when it was not taken: a refused entry (FailedEntryCount), a
        throttled or failed call, or a permanent refusal (AccessDenied, no such bus), which the alarm then reports."""
        what = f"publish {event.detail_type} {event.event_id}"
        try:
            image_events.put_event(self._events(), event_bus_name, event)
        except (image_events.EventNotPublished, ClientError, BotocoreConnectionError, HTTPClientError) as error:
            raise EventPublishFailed(f"{what}: {error}") from error
