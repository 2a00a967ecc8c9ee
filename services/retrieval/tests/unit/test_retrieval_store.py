"""The retrieval store makes the EventBridge client only when it first publishes (only delete_image publishes)."""

from __future__ import annotations

from typing import Any

import pytest
from imgplat_common.image_events import ImageDeleted
from imgplat_common.settings import load_settings
from imgplat_retrieval import store
from imgplat_retrieval.settings import RetrievalSettings
from imgplat_retrieval.store import RetrievalStore

SETTINGS = RetrievalSettings(images_table="t", originals_bucket="o", renditions_bucket="r", event_bus_name="bus")


class _Client:
    """Any boto3 client the store asks for; as the table's, it finds no item."""

    def get_item(self, **request: Any) -> dict[str, Any]:
        return {}


class _Events:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # boto3's parameter name
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def test_the_store_of_a_container_makes_no_events_client_until_it_publishes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a container with the function's settings, whose boto3 clients are recorded as they are made
    for name, value in {
        "IMAGES_TABLE": "t",
        "ORIGINALS_BUCKET": "o",
        "RENDITIONS_BUCKET": "r",
        "EVENT_BUS_NAME": "bus",
    }.items():
        monkeypatch.setenv(name, value)
    made: list[str] = []

    def make_client(service: str, **_: Any) -> _Client:
        made.append(service)
        return _Client()

    monkeypatch.setattr(store.boto3, "client", make_client)
    _forget_the_container()
    try:
        # When the store is made and an image is read (what get_image and list_images do)
        store.retrieval_store().get_image("owner", "image")
        # Then the table's and the bucket's clients were made, EventBridge's not (only delete_image publishes)
        assert sorted(made) == ["dynamodb", "s3"]
    finally:
        _forget_the_container()


def _forget_the_container() -> None:
    load_settings.cache_clear()
    for factory in (store.retrieval_store, store._dynamodb_client, store._s3_client, store._events_client):
        factory.cache_clear()


def test_the_events_client_is_made_on_the_first_publish_and_used_for_it() -> None:
    events = _Events()
    store = RetrievalStore(table=_Client(), s3=None, events=lambda: events, settings=SETTINGS)
    store.publish_event(ImageDeleted.of_image("owner", "image"))
    assert [entry["EventBusName"] for entry in events.entries] == ["bus"]
