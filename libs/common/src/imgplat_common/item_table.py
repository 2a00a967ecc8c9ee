"""One DynamoDB table, read and written with plain Python values over a low-level client.

What boto3's Table resource does for the calls the stores make, without loading the resource model and building its
classes in every cold start (docs/performance.md, cold start): values go in through boto3's own TypeSerializer and
come back through its TypeDeserializer (numbers as Decimal), expressions stay strings. Error responses are the
client's, untouched: a refused conditional write's Item stays in DynamoDB's typed form, as with the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER, _DESERIALIZER = TypeSerializer(), TypeDeserializer()
# The request parameters that hold an item or a map of values, and the answer fields that hold items.
_TYPED_PARAMETERS = ("Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues")
_ITEM_ANSWERS = ("Item", "Attributes", "LastEvaluatedKey")


class ItemTable:
    """get_item, put_item, update_item, delete_item and query on `table_name`, as boto3's Table resource takes and
    answers them (same parameters, TableName given)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.name = table_name

    def get_item(self, **request: Any) -> dict[str, Any]:
        return self._call("get_item", request)

    def put_item(self, **request: Any) -> dict[str, Any]:
        return self._call("put_item", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._call("update_item", request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return self._call("delete_item", request)

    def query(self, **request: Any) -> dict[str, Any]:
        return self._call("query", request)

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        typed = {**request, "TableName": self.name}
        for parameter in _TYPED_PARAMETERS:
            if parameter in typed:
                typed[parameter] = _typed(typed[parameter])
        answer: dict[str, Any] = dict(getattr(self._client, operation)(**typed))
        for field in _ITEM_ANSWERS:
            if field in answer:
                answer[field] = _plain(answer[field])
        if "Items" in answer:
            answer["Items"] = [_plain(item) for item in answer["Items"]]
        return answer


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
