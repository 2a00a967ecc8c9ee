"""libs/common's AWS helpers: reading a failed call's error code, and deleting objects in batches (moto's S3)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from imgplat_common.aws_errors import (
    error_code,
    error_message,
    http_status,
    is_conditional_check_failure,
    is_transient,
)
from imgplat_common.keys import InvalidKeyError, check_rendition_name
from imgplat_common.object_deletion import DELETE_BATCH_SIZE, ObjectsNotDeleted, delete_keys, delete_prefix
from moto import mock_aws

BUCKET = "objects"


def test_the_error_code_message_and_status_of_a_failed_call():
    error = ClientError(
        {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "UpdateItem",
    )

    assert error_code(error) == "ConditionalCheckFailedException"
    assert error_message(error) == "The conditional request failed"
    assert http_status(error) == 400
    assert is_conditional_check_failure(error)


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [("ThrottlingException", 400, True), ("SlowDown", 503, True), ("Odd", 500, True), ("AccessDenied", 403, False)],
)
def test_throttling_and_server_side_failures_are_transient(code: str, status: int, transient: bool):
    error = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "AnyOperation")
    assert is_transient(error) is transient


def test_an_error_without_an_aws_answer_has_no_code():
    assert (error_code(RuntimeError("boom")), http_status(RuntimeError("boom"))) == ("", 0)
    assert not is_conditional_check_failure(ClientError({}, "GetItem"))


@pytest.mark.parametrize("name", ["thumb", "x_2-large", "a" * 32])
def test_rendition_names_a_key_may_hold(name: str):
    assert check_rendition_name(name) == name


@pytest.mark.parametrize("name", ["Thumb", "", "a" * 33, "med ium", "../x"])
def test_rendition_names_no_key_may_hold(name: str):
    with pytest.raises(InvalidKeyError):
        check_rendition_name(name)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _keys(s3: Any) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))


def test_everything_under_a_prefix_goes_across_pages_and_nothing_else(s3: Any):
    # Given more objects under the prefix than one listing page holds, and one beside it
    for index in range(DELETE_BATCH_SIZE + 5):
        s3.put_object(Bucket=BUCKET, Key=f"renditions/a/{index}", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="renditions/ab", Body=b"x")

    deleted = delete_prefix(s3, BUCKET, "renditions/a/")

    assert deleted == DELETE_BATCH_SIZE + 5
    assert _keys(s3) == ["renditions/ab"]


def test_deleting_keys_that_are_not_there_is_fine(s3: Any):
    s3.put_object(Bucket=BUCKET, Key="kept", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x")

    delete_keys(s3, BUCKET, ["gone", "never-there"])

    assert _keys(s3) == ["kept"]


def test_keys_s3_refuses_to_delete_are_reported():
    class RefusingS3:
        def delete_objects(self, **request: Any) -> dict[str, Any]:
            return {"Errors": [{"Key": "k", "Code": "AccessDenied"}]}

    with pytest.raises(ObjectsNotDeleted, match="AccessDenied on 1 keys"):
        delete_keys(RefusingS3(), BUCKET, ["k"])


# --- ItemTable: a table over the low-level client, answering as boto3's Table resource does ---------------------------


@pytest.fixture
def item_tables() -> Iterator[tuple[Any, Any]]:
    """(ItemTable, boto3's Table resource) on the same moto table, keyed by owner and image_id."""
    from imgplat_common.item_table import ItemTable

    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        resource_table = dynamodb.create_table(
            TableName="images",
            KeySchema=[
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "image_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "owner", "AttributeType": "S"},
                {"AttributeName": "image_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ItemTable(boto3.client("dynamodb", region_name="us-east-1"), "images"), resource_table


def test_an_item_table_reads_and_writes_the_items_the_table_resource_does(item_tables):
    # Given items written through an ItemTable, with nested maps, lists and numbers
    table, resource_table = item_tables
    item = {"owner": "u1", "image_id": "a", "size": Decimal(12), "renditions": {"small": {"width": 320}}, "tags": ["x"]}
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(image_id)")
    table.put_item(Item={"owner": "u1", "image_id": "b"})
    # Then both read them back as the same plain values (numbers as Decimal)
    key = {"owner": "u1", "image_id": "a"}
    assert table.get_item(Key=key, ConsistentRead=True)["Item"] == resource_table.get_item(Key=key)["Item"] == item
    # And an update answers its attributes plain, with expression values given plain
    updated = table.update_item(
        Key=key,
        UpdateExpression="SET #size = :size",
        ExpressionAttributeNames={"#size": "size"},
        ExpressionAttributeValues={":size": 13},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["size"] == Decimal(13)
    # And a query pages with plain keys, as the resource does
    first = table.query(
        KeyConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": "u1"},
        Limit=1,
    )
    assert [found["image_id"] for found in first["Items"]] == ["a"]
    assert first["LastEvaluatedKey"] == key
    rest = table.query(
        KeyConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": "u1"},
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [found["image_id"] for found in rest["Items"]] == ["b"]


def test_an_item_table_refusal_is_the_clients_error_with_the_item_in_dynamodbs_typed_form(item_tables):
    # Given an item that exists
    table, _ = item_tables
    table.put_item(Item={"owner": "u1", "image_id": "a", "status": "READY"})
    # When a conditional write is refused and asks for the item as it was
    with pytest.raises(ClientError) as refused:
        table.delete_item(
            Key={"owner": "u1", "image_id": "a"},
            ConditionExpression="#status = :expected",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":expected": "PROCESSING"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    # Then the refusal is DynamoDB's, its item typed as the resource also leaves it
    assert is_conditional_check_failure(refused.value)
    assert refused.value.response["Item"]["status"] == {"S": "READY"}
    # And an item that is gone reads as none
    assert (
        table.delete_item(Key={"owner": "u1", "image_id": "a"}, ReturnValues="ALL_OLD")["Attributes"]["status"]
        == "READY"
    )
    assert "Item" not in table.get_item(Key={"owner": "u1", "image_id": "a"})
