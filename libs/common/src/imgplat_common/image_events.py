"""The platform's integration events on its EventBridge bus: ImageReady, ImageRejected, ImageFailed (processing)
and ImageDeleted (retrieval). Defined once here because two services publish them; docs/events.md describes them
and docs/events/*.schema.json are generated from these models (scripts/generate_event_schemas.py).

A detail carries only what another team may know of an image: its id, its owner's sub, its status, and the reason,
error id or rendition list. Never a key, a URL (pre-signed or not), a file name or EXIF: a consumer that wants the
image asks the API as its owner.

The `event_id` is stable: the same finished run (or the same deletion) always gets the same id however often a
retry publishes it, so consumers de-duplicate on it. EventBridge's own envelope `id` differs on every publish.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from imgplat_common.models import Rendition, utc_now_iso

SCHEMA_VERSION: Literal["1"] = "1"  # a breaking change to a detail gets a new version (docs/events.md: Versioning)
PROCESSING_SOURCE = "imgplat.processing"
RETRIEVAL_SOURCE = "imgplat.retrieval"
EVENT_ID_LENGTH = 32  # hex characters of a sha256: 128 bits, no collision in any image library's lifetime


def event_id_for(detail_type: str, image_id: str, occasion: str) -> str:
    """The de-duplication id of one fact: `occasion` names what happened once (a run id; "deleted" for a deletion)."""
    return hashlib.sha256(f"{detail_type}/{image_id}/{occasion}".encode()).hexdigest()[:EVENT_ID_LENGTH]


class ImageEvent(BaseModel):
    """What every event's `detail` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)

    detail_type: ClassVar[str]
    source: ClassVar[str]

    schema_version: Literal["1"] = Field(default=SCHEMA_VERSION, description="The detail's shape version.")
    event_id: str = Field(
        pattern=f"^[0-9a-f]{{{EVENT_ID_LENGTH}}}$",
        description="Stable across retries of the same fact: de-duplicate on it (EventBridge's `id` is not).",
    )
    image_id: str = Field(description="The image's id, as in GET /image/{id}.")
    owner: str = Field(description="The Cognito sub of the image's owner.")
    occurred_at: str = Field(description="When the platform recorded the fact (ISO 8601 UTC, milliseconds).")

    def entry(self, event_bus_name: str) -> dict[str, Any]:
        """The PutEvents entry that publishes this event on the bus."""
        return {
            "EventBusName": event_bus_name,
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.model_dump(mode="json"), separators=(",", ":")),
        }


class RenditionSummary(BaseModel):
    """One rendition as a consumer may see it: its name and size, never where it is stored."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)

    name: str = Field(description="As in GET /image/{id}?size=NAME.")
    width: int
    height: int
    formats: list[str] = Field(description="As in GET /image/{id}?format=FORMAT.")

    @classmethod
    def of(cls, rendition: Rendition) -> RenditionSummary:
        any_file = next(iter(rendition.files.values()))
        return cls(name=rendition.name, width=any_file.width, height=any_file.height, formats=sorted(rendition.files))


class ImageReady(ImageEvent):
    """Processing finished: the renditions can be fetched through the API."""

    detail_type: ClassVar[str] = "ImageReady"
    source: ClassVar[str] = PROCESSING_SOURCE

    status: Literal["READY"] = "READY"
    renditions: list[RenditionSummary]

    @classmethod
    def of_run(cls, owner: str, image_id: str, run_id: str, renditions: list[Rendition]) -> ImageReady:
        return cls(
            event_id=event_id_for(cls.detail_type, image_id, run_id),
            image_id=image_id,
            owner=owner,
            occurred_at=utc_now_iso(),
            renditions=[RenditionSummary.of(rendition) for rendition in renditions],
        )


class ImageRejected(ImageEvent):
    """The upload is not an acceptable image; `reason` is the text its owner sees."""

    detail_type: ClassVar[str] = "ImageRejected"
    source: ClassVar[str] = PROCESSING_SOURCE

    status: Literal["REJECTED"] = "REJECTED"
    reason: str

    @classmethod
    def of_run(cls, owner: str, image_id: str, run_id: str, reason: str) -> ImageRejected:
        return cls(
            event_id=event_id_for(cls.detail_type, image_id, run_id),
            image_id=image_id,
            owner=owner,
            occurred_at=utc_now_iso(),
            reason=reason,
        )


class ImageFailed(ImageEvent):
    """The platform could not process the image; `error_id` is what its owner quotes to support."""

    detail_type: ClassVar[str] = "ImageFailed"
    source: ClassVar[str] = PROCESSING_SOURCE

    status: Literal["FAILED"] = "FAILED"
    reason: str = Field(description="A generic, user-readable reason (the cause stays in the platform's logs).")
    error_id: str

    @classmethod
    def of_run(cls, owner: str, image_id: str, occasion: str, reason: str, error_id: str) -> ImageFailed:
        """`occasion`: the run that failed, or for the reconciler the record's last write it failed the image from."""
        return cls(
            event_id=event_id_for(cls.detail_type, image_id, occasion),
            image_id=image_id,
            owner=owner,
            occurred_at=utc_now_iso(),
            reason=reason,
            error_id=error_id,
        )


class ImageDeleted(ImageEvent):
    """The owner deleted the image: its original, renditions and record are gone."""

    detail_type: ClassVar[str] = "ImageDeleted"
    source: ClassVar[str] = RETRIEVAL_SOURCE

    status: Literal["DELETED"] = "DELETED"

    @classmethod
    def of_image(cls, owner: str, image_id: str) -> ImageDeleted:
        # An image id is never reused, so an image is deleted once: every retry of it is the same fact.
        return cls(
            event_id=event_id_for(cls.detail_type, image_id, "deleted"),
            image_id=image_id,
            owner=owner,
            occurred_at=utc_now_iso(),
        )


IMAGE_EVENTS: tuple[type[ImageEvent], ...] = (ImageReady, ImageRejected, ImageFailed, ImageDeleted)


class EventNotPublished(RuntimeError):
    """EventBridge answered PutEvents but did not accept the entry (FailedEntryCount > 0); the message has its code."""

    def __init__(self, detail_type: str, code: str, message: str) -> None:
        super().__init__(f"{detail_type} not published: {code} {message}".strip())
        self.code = code


def put_event(events: Any, event_bus_name: str, event: ImageEvent) -> None:
    """Publish one event with a boto3 EventBridge client; EventNotPublished when the entry is refused.

    PutEvents answers 200 even when an entry failed: only FailedEntryCount tells, so it is checked here, once for
    both publishers. botocore's errors reach the caller as they are, for its store to translate.
    """
    answer = events.put_events(Entries=[event.entry(event_bus_name)])
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise EventNotPublished(
            event.detail_type, str(failed.get("ErrorCode", "")), str(failed.get("ErrorMessage", ""))
        )
