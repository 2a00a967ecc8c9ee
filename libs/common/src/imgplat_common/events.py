"""The ingest queue's messages: S3 event notifications for originals/ keys.

Produced by S3 (the upload service's bucket notification) and consumed by the processing orchestrator; defined once
here so both sides' tests use the same shape.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

S3_TEST_EVENT = "s3:TestEvent"


class _Notification(BaseModel):
    # Only the fields the platform reads. Powertools' S3Model also requires fields that S3 sends but local
    # emulators (moto) leave out, such as requestParameters; a stricter model would drop real work.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class S3ObjectInfo(_Notification):
    key: str
    size: int = 0
    e_tag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None


class S3BucketInfo(_Notification):
    name: str


class S3Entity(_Notification):
    bucket: S3BucketInfo
    object: S3ObjectInfo


class S3EventRecord(_Notification):
    event_name: str = Field(default="", alias="eventName")
    s3: S3Entity


class S3Notification(_Notification):
    event: str | None = Field(default=None, alias="Event")
    records: list[S3EventRecord] = Field(default_factory=list, alias="Records")
