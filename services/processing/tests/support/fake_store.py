"""A processing store in memory (ports.StepStore and ports.ReconcilerStore) for the unit tests of the bookkeeping
steps, the orchestrator and the reconciler: the status rules of the real table, none of its AWS."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imgplat_common.image_events import ImageEvent
from imgplat_common.models import utc_now_iso
from imgplat_common.status import ImageStatus, statuses_allowed_before
from imgplat_processing.ports import (
    ConditionFailed,
    EventPublishFailed,
    ObjectMissing,
    ObjectVersion,
    ReadyByThisRun,
    RecordMissing,
)


@dataclass
class StoredObject:
    body: bytes
    content_type: str = "application/octet-stream"
    version_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


@dataclass
class Execution:
    payload: str
    status: str = "RUNNING"


class FakeProcessingStore:
    """Objects by (bucket, key), records by (owner, image_id) (one table), executions by name (one state machine),
    published events by bus name. `refuse_events` makes the next that many publishes fail as EventBridge's would."""

    def __init__(self, clock: Callable[[], str] = utc_now_iso, versioned: bool = True) -> None:
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.executions: dict[str, Execution] = {}
        self.events: dict[str, list[ImageEvent]] = {}
        self.refuse_events = 0
        self.clock = clock
        self._versions = itertools.count(1) if versioned else None

    # --- arranging the world ----------------------------------------------------------------------------------------

    def put(self, bucket: str, key: str, body: bytes) -> StoredObject:
        version_id = f"v{next(self._versions)}" if self._versions else None
        stored = self.objects[(bucket, key)] = StoredObject(body, version_id=version_id)
        return stored

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(key for (in_bucket, key) in self.objects if in_bucket == bucket and key.startswith(prefix))

    # --- ports.ObjectStore ------------------------------------------------------------------------------------------

    def _object(self, bucket: str, key: str) -> StoredObject:
        try:
            return self.objects[(bucket, key)]
        except KeyError:
            raise ObjectMissing(f"s3://{bucket}/{key}") from None

    def object_size(self, bucket: str, key: str) -> int:
        return len(self._object(bucket, key).body)

    def read_object(self, bucket: str, key: str) -> bytes:
        return self._object(bucket, key).body

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
        self.objects[(bucket, key)] = StoredObject(body, content_type=content_type)

    def tag_object(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        self._object(bucket, key).tags = dict(tags)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        keys = self.keys(bucket, prefix)
        self.delete_objects(bucket, keys)
        return len(keys)

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        for key in keys:
            self.objects.pop((bucket, key), None)

    def delete_object(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)

    def object_version(self, bucket: str, key: str) -> ObjectVersion | None:
        stored = self.objects.get((bucket, key))
        if stored is None:
            return None
        return ObjectVersion(size=len(stored.body), etag=stored.etag, version_id=stored.version_id)

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
        record = self.records.get((owner, image_id))
        if record is None:
            raise RecordMissing(f"{owner}/{image_id}")
        status, claimed_by = ImageStatus(record["status"]), record.get("run_id")
        allowed = status in statuses_allowed_before(target) and (
            status is not ImageStatus.PROCESSING or claimed_by == run_id
        )
        if not allowed and not (status is target and claimed_by == run_id):
            if status is ImageStatus.READY and claimed_by == run_id:
                raise ReadyByThisRun(f"{target.value} {owner}/{image_id} by {run_id}: this run made it READY")
            raise ConditionFailed(f"{target.value} {owner}/{image_id} by {run_id}: the record is {status.value}")
        record.update(fields or {}, status=target.value, run_id=run_id, updated_at=self.clock())
        return dict(record)

    def records_in_status_before(
        self, table_name: str, index_name: str, status: ImageStatus, updated_before: str, limit: int
    ) -> list[dict[str, Any]]:
        found = [r for r in self.records.values() if r["status"] == status.value and r["updated_at"] < updated_before]
        return [dict(record) for record in sorted(found, key=lambda record: record["updated_at"])[:limit]]

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
        record = self.records.get((owner, image_id))
        if record is None or (record["status"], record["updated_at"]) != (status.value, updated_at):
            return False
        record.update(fields, status=ImageStatus.FAILED.value, updated_at=self.clock())
        return True

    # --- the workflow -----------------------------------------------------------------------------------------------

    def start_execution(self, state_machine_arn: str, name: str, payload: str) -> bool:
        if name in self.executions:
            return False
        self.executions[name] = Execution(payload)
        return True

    def execution_status(self, state_machine_arn: str, name: str) -> str:
        return self.executions[name].status

    # --- the platform's events --------------------------------------------------------------------------------------

    def publish_event(self, event_bus_name: str, event: ImageEvent) -> None:
        if self.refuse_events:
            self.refuse_events -= 1
            raise EventPublishFailed(f"publish {event.detail_type}: FailedEntryCount 1 (ThrottlingException)")
        self.events.setdefault(event_bus_name, []).append(event)
