"""What the workflow's steps, the orchestrator and the reconciler need from AWS, as Protocols; store.py implements
them over boto3, the unit tests over a few dicts (tests/support/fake_store.py).

The errors are part of the contract: a store raises these, never botocore's. Step Functions matches some by class
name (statemachine.asl.yaml: TransientError is retried), so their names are the workflow's too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from imgplat_common.image_events import ImageEvent
from imgplat_common.status import ImageStatus


class TransientError(Exception):
    """AWS was throttling, failing on its side or unreachable: the same call may well work when retried."""


class EventPublishFailed(TransientError):
    """EventBridge did not take an event (refused the entry, failed, throttled, or denied): retried like any
    TransientError, but the workflow tells it apart (statemachine.asl.yaml): the record is already written, so running
    out of retries must raise an alarm, never turn into MarkFailed."""


class ConditionFailed(Exception):
    """A status write was refused: the record is missing, already further along, or claimed by another run."""


class RecordMissing(ConditionFailed):
    """A status write was refused because the record does not exist (never made, or the owner deleted the image)."""


class ReadyByThisRun(ConditionFailed):
    """A status write was refused because this very run already made the record READY (Persist's write landed and
    its worker died before answering): the image is fine, and its ImageReady may still be owed."""


class ObjectMissing(Exception):
    """The object is not (or no longer) in the bucket."""


@dataclass(frozen=True)
class ObjectVersion:
    """What an object's headers say of the version in the bucket."""

    size: int
    etag: str | None  # without the quotes S3 puts around it
    version_id: str | None  # None in a bucket that keeps no versions


class ObjectStore(Protocol):
    """S3 objects, as the steps use them. Hashable: what a step reads once per container is cached per store."""

    def __hash__(self) -> int: ...

    def object_size(self, bucket: str, key: str) -> int:
        """The size in bytes of an object, from its headers (nothing is downloaded); ObjectMissing if absent."""
        ...

    def read_object(self, bucket: str, key: str) -> bytes:
        """The object's bytes; ObjectMissing if absent."""
        ...

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
        """Put an object encrypted with the platform key."""
        ...

    def tag_object(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace the object's tags (lifecycle rules act on them)."""
        ...

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object below `prefix`; how many there were."""
        ...

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete these objects; keys that do not exist are fine."""
        ...

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete this one object by its key, without listing (S3 bills no DELETE; a LIST is a billed request); a key
        that does not exist is fine."""
        ...


class EventPublisher(Protocol):
    def publish_event(self, event_bus_name: str, event: ImageEvent) -> None:
        """Put `event` on the bus; EventPublishFailed whatever the reason it was not taken."""
        ...


class StepStore(ObjectStore, EventPublisher, Protocol):
    """What the workflow's steps need: the objects, the record's status moves, and the platform's events."""

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
        """Move the record to `target` for run `run_id` and set `fields`; the record as it is after the write.
        `run_id` is the execution holding the image (WorkflowState.execution_id), stored as the record's run_id.

        ConditionFailed when imgplat_common.status forbids the move (PROCESSING only counts when this run claimed
        it), RecordMissing when there is no record. Repeating a run's own write succeeds (retries are idempotent).
        """
        ...


class ExecutionStarter(Protocol):
    def start_execution(self, state_machine_arn: str, name: str, payload: str) -> bool:
        """Start a run named `name` with input `payload`; False when a run of that name already exists."""
        ...


class ReconcilerStore(ExecutionStarter, EventPublisher, Protocol):
    """What the reconciler needs: stuck records, the original's version, the runs, and conditional failing."""

    def delete_prefix(self, bucket: str, prefix: str) -> int: ...

    def records_in_status_before(
        self, table_name: str, index_name: str, status: ImageStatus, updated_before: str, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` records in `status` last written before `updated_before`, oldest first."""
        ...

    def object_version(self, bucket: str, key: str) -> ObjectVersion | None:
        """The version of the object in the bucket; None when it is not there."""
        ...

    def execution_status(self, state_machine_arn: str, name: str) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED: the status of the run `name`."""
        ...

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
        """FAILED with `fields` if the record is still in `status` as of `updated_at`; False when it moved on."""
        ...
