"""The events on the platform's bus against their documented JSON Schemas (docs/events/*.schema.json).

Regenerate the files after changing an event model: .venv/bin/python scripts/generate_event_schemas.py
What the running publishers emit end to end is checked against the same files in tests/e2e/test_events_in_process.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from imgplat_common.image_events import (
    IMAGE_EVENTS,
    ImageDeleted,
    ImageEvent,
    ImageFailed,
    ImageReady,
    ImageRejected,
)
from imgplat_common.models import Rendition, RenditionFile
from jsonschema import Draft202012Validator

from local.serverless_files import ROOT, load_yaml
from scripts.generate_event_schemas import SCHEMA_DIR, schema_path, schema_text

REGENERATE = "run: .venv/bin/python scripts/generate_event_schemas.py"
OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
IMAGE_ID = "01JEXAMPLE0000000000000000"
RUN_ID = f"{IMAGE_ID}-0123456789abcdef"
THUMB = Rendition(
    name="thumb",
    long_edge=150,
    files={
        image_format: RenditionFile(
            key=f"renditions/{OWNER}/{IMAGE_ID}/h/thumb.{image_format}", width=150, height=100, bytes=1
        )
        for image_format in ("jpeg", "webp")
    },
)
EXAMPLES: dict[str, ImageEvent] = {
    "ImageReady": ImageReady.of_run(OWNER, IMAGE_ID, RUN_ID, [THUMB]),
    "ImageRejected": ImageRejected.of_run(OWNER, IMAGE_ID, RUN_ID, "The file is not an image we can process."),
    "ImageFailed": ImageFailed.of_run(OWNER, IMAGE_ID, RUN_ID, "processing failed", "0" * 32),
    "ImageDeleted": ImageDeleted.of_image(OWNER, IMAGE_ID),
}


def _as_delivered(event: ImageEvent) -> dict[str, Any]:
    """The event as EventBridge hands it to a rule's target: its envelope around the entry's Detail."""
    entry = event.entry("imgplat-processing-dev-events")
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2026-12-03T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def _validator(detail_type: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMA_DIR / f"{detail_type}.schema.json").read_text()))


@pytest.mark.parametrize("event", IMAGE_EVENTS, ids=lambda event: event.detail_type)
def test_committed_schema_is_what_the_model_generates(event: type[ImageEvent]):
    assert schema_path(event).read_text() == schema_text(event), (
        "run: .venv/bin/python scripts/generate_event_schemas.py"
    )


def test_every_schema_file_is_an_event_the_platform_publishes():
    assert sorted(path.name for path in SCHEMA_DIR.glob("*.schema.json")) == sorted(
        f"{event.detail_type}.schema.json" for event in IMAGE_EVENTS
    )


@pytest.mark.parametrize("detail_type", sorted(EXAMPLES))
def test_what_a_publisher_emits_is_valid_against_its_documented_schema(detail_type: str):
    event = EXAMPLES[detail_type]
    assert event.detail_type == detail_type

    Draft202012Validator.check_schema(_validator(detail_type).schema)
    errors = list(_validator(detail_type).iter_errors(_as_delivered(event)))

    assert not errors, [error.message for error in errors]


@pytest.mark.parametrize("detail_type", sorted(EXAMPLES))
def test_a_schema_refuses_an_event_of_another_type_or_with_extra_fields(detail_type: str):
    delivered = _as_delivered(EXAMPLES[detail_type])
    other = next(name for name in EXAMPLES if name != detail_type)
    with_extra = {**delivered, "detail": {**delivered["detail"], "url": "https://example.com/presigned"}}

    assert not _validator(other).is_valid(delivered)
    assert not _validator(detail_type).is_valid(with_extra)


def test_no_event_carries_a_storage_key_or_url():
    # The owner's sub and the image id are the only identifiers an event may carry (docs/events.md: Privacy).
    for event in EXAMPLES.values():
        text = event.entry("bus")["Detail"]
        assert "renditions/" not in text and "originals/" not in text and "http" not in text


def test_the_same_fact_always_gets_the_same_event_id_and_different_facts_do_not():
    again = ImageReady.of_run(OWNER, IMAGE_ID, RUN_ID, [THUMB])
    other_run = ImageReady.of_run(OWNER, IMAGE_ID, f"{IMAGE_ID}-fedcba9876543210", [THUMB])

    assert again.event_id == EXAMPLES["ImageReady"].event_id
    assert other_run.event_id != again.event_id
    assert len({event.event_id for event in EXAMPLES.values()}) == len(EXAMPLES)


def test_docs_describe_every_event_and_link_its_schema():
    doc = (ROOT / "docs" / "events.md").read_text()
    for event in IMAGE_EVENTS:
        assert f"### {event.detail_type}" in doc
        assert f"events/{event.detail_type}.schema.json" in doc
        assert f"`{event.source}`" in doc


def test_the_example_consumer_subscribes_to_every_event_with_nothing_but_the_bus_arn():
    example = ROOT / "examples" / "event-consumer" / "serverless.yml"
    definition = load_yaml(example)
    rule = definition["resources"]["Resources"]["ImageEventsRule"]["Properties"]

    assert rule["EventBusName"] == "${param:eventBusArn}"
    assert sorted(rule["EventPattern"]["detail-type"]) == sorted(event.detail_type for event in IMAGE_EVENTS)
    assert sorted(rule["EventPattern"]["source"]) == sorted({event.source for event in IMAGE_EVENTS})
    platform_params = set(re.findall(r"\$\{param:(\w+)", example.read_text())) - set(definition["params"]["default"])
    assert platform_params == {"eventBusArn"}
