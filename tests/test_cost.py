"""`make cost`'s arithmetic and its price table: each measured quantity is priced from one dated table whose every
price names its source, and the bill scales a batch to 1,000 uploads and 10,000 views."""

from __future__ import annotations

import json
import re

import pytest

from bench import cost

PRICE_FILE = json.loads(cost.PRICES.read_text())
PRICES = PRICE_FILE["prices"]


def test_the_price_table_is_dated_and_names_a_source_page_for_every_price():
    assert PRICE_FILE["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICE_FILE["written"])
    for key, price in PRICES.items():
        assert price["usd"] > 0 and price["per"] >= 1, key
        assert re.search(r"https://aws\.amazon\.com/[\w/-]+/pricing/", price["source"]), key
        assert price["unit"] and price["checked"], key


def test_every_quantity_the_bill_measures_has_a_price():
    phase = cost.Phase(images=1)
    measured = cost.billable_quantities(phase) | cost.express_quantities(phase) | cost.storage_and_egress(phase)
    assert set(measured) <= set(PRICES)


def synthetic_uploads() -> cost.Phase:
    """Two images: each one PutObject, one GetObject, one DeleteObject, one GetItem, two PutItems (8 WRU in all), a
    resize of 500 ms at 2048 MB in the workflow, 7 states, one queue batch for both and 1,000 logged bytes."""
    return cost.Phase(
        images=2,
        requests={
            "s3": {"PutObject": 2, "GetObject": 2, "DeleteObject": 2},
            "dynamodb": {"GetItem": 2, "PutItem": 4},
            "kms": {"Decrypt": 2},
        },
        functions={"resize": cost.FunctionUse(memory_mb=2048, in_workflow=True, invocations=2, billed_ms=1000)},
        api_requests=2,
        queue_batches=1,
        s3_notifications=2,
        workflow_transitions=14,
        workflow_executions=2,
        dynamodb_write_units=8,
        stored_bytes=2 * cost.GB,
    )


def test_measured_counts_become_billable_quantities():
    quantities = cost.billable_quantities(synthetic_uploads())
    assert quantities["lambda_request"] == 2
    assert quantities["lambda_arm_gb_second"] == pytest.approx(1.0 * 2)  # 1 s in all at 2 GB
    assert quantities["s3_put_copy_post_list"] == 2
    assert quantities["s3_get_and_other"] == 2  # DELETE is free
    assert quantities["dynamodb_write_request_unit"] == 8
    assert quantities["dynamodb_read_request_unit"] == 2
    assert quantities["kms_request"] == 2
    assert quantities["sqs_request"] == 2 + 2  # two S3 notifications sent, one receive and one batch delete
    assert quantities["sfn_standard_transition"] == 14
    lambda_platform_lines = 2 * cost.LAMBDA_PLATFORM_LOG_BYTES
    assert quantities["cloudwatch_logs_ingested_gb"] == pytest.approx(lambda_platform_lines / cost.GB)


def test_express_bills_each_execution_by_its_steps_time_rounded_up_to_100_ms_at_64_mb():
    quantities = cost.express_quantities(synthetic_uploads())
    assert quantities["sfn_express_request"] == 2
    # 500 ms of steps per execution is billed as 0.5 s; at 64 MB that is 1/32 GB-s.
    assert quantities["sfn_express_gb_second"] == pytest.approx(2 * 0.5 * 64 / 1024)


def test_the_bill_scales_the_batch_to_1000_uploads_and_10000_views():
    views = cost.Phase(images=5, api_requests=5, cdn_requests=5, delivered_bytes=5 * 1024**2)
    bill = cost.bill(synthetic_uploads(), views, PRICES)
    processing = {line.key: line for line in bill.processing}
    # 2 images -> 1,000: x500. 14 transitions x 500 = 7,000 at $0.025 per 1,000.
    assert processing["sfn_standard_transition"].quantity == 7000
    assert processing["sfn_standard_transition"].usd == pytest.approx(0.175)
    assert processing["s3_put_copy_post_list"].usd == pytest.approx(1000 * 0.005 / 1000)
    assert processing["lambda_arm_gb_second"].usd == pytest.approx(1000 * 0.0000133334)
    delivery = {line.key: line for line in bill.delivery}
    assert delivery["apigateway_rest_request"].usd == pytest.approx(10000 * 3.5 / 1_000_000)
    assert delivery["cloudfront_https_request"].usd == pytest.approx(10000 * 0.01 / 10000)
    apart = {line.key: line for line in bill.storage_and_egress}
    assert apart["s3_standard_storage_gb_month"].quantity == pytest.approx(1000)  # 1 GB per image kept a month
    assert apart["cloudfront_egress_gb"].quantity == pytest.approx(10000 / 1024)  # 1 MB per view
    # Express replaces the transitions line, and nothing else, in the processing total
    express = sum(line.usd for line in bill.express)
    assert bill.processing_express_usd == pytest.approx(bill.processing_usd - 0.175 + express)
    assert sum(line.usd for line in bill.processing) == pytest.approx(bill.processing_usd)


def test_dynamodb_item_sizes_follow_dynamodbs_rules():
    item = {"owner": {"S": "abc"}, "size": {"N": "12345"}, "renditions": {"M": {"small": {"S": "k"}}}}
    assert sum(len(name) + cost.attribute_bytes(value) for name, value in item.items()) == (
        5 + 3 + 4 + 3 + 10 + (3 + 5 + 1)
    )


def test_a_param_processing_reads_is_passed_on_and_any_other_name_is_refused():
    params = cost.processing_params(["renditions=thumb:150,medium:800", "avifRenditions="])
    assert params == {"renditions": "thumb:150,medium:800", "avifRenditions": ""}
    platform = cost.platform_with(params)(client=lambda name: None)
    assert platform._local_params("processing") == params
    assert "renditions" not in platform._local_params("retrieval")
    with pytest.raises(SystemExit, match="rendition=x"):
        cost.processing_params(["rendition=x"])  # a typo would price the deployed configuration
    with pytest.raises(SystemExit):
        cost.processing_params(["renditions"])


def test_real_photos_are_the_benchmarks_corpus_cycled_with_the_type_each_declares(tmp_path, monkeypatch):
    from bench import photos

    def corpus_photo(name: str, image_format: str) -> photos.Photo:
        (tmp_path / name).write_bytes(name.encode())
        return photos.Photo(str(tmp_path / name), image_format, 1, 1, 0.0, False, 1, "")

    corpus = [corpus_photo("a.jpg", "JPEG"), corpus_photo("b.png", "PNG")]
    monkeypatch.setattr(photos, "ensure_corpus", lambda: (corpus, []))

    assert cost.real_photos(None) == [(b"a.jpg", "image/jpeg"), (b"b.png", "image/png")]
    assert [content_type for _, content_type in cost.real_photos(3)] == ["image/jpeg", "image/png", "image/jpeg"]


def test_each_dynamodb_write_is_billed_by_its_own_item_sizes_and_the_index_entries_it_moves():
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    meter = cost.WriteUnitMeter()
    with mock_aws(), meter.metering():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="images",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("id", "status")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-status",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )
        key = {"id": {"S": "a"}}

        def status_to(status: str, **more: dict[str, str]) -> int:
            names = {"#s": "status", **{f"#{name}": name for name in more}}
            values = {":s": {"S": status}, **{f":{name}": value for name, value in more.items()}}
            assignments = ", ".join(["#s = :s", *(f"#{name} = :{name}" for name in more)])
            dynamodb.update_item(
                TableName="images",
                Key=key,
                UpdateExpression=f"SET {assignments}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return meter.take()

        # A new small item: 1 unit, and 1 for its new index entry
        dynamodb.put_item(TableName="images", Item={**key, "status": {"S": "PENDING"}})
        assert meter.take() == 2
        # Its status moves: the index entry is deleted and written anew
        assert status_to("PROCESSING") == 1 + 2
        # A 2.5 KB item: 3 units for the item, 2 for the entry
        assert status_to("READY", files={"S": "x" * 2500}) == 3 + 2
        # The same status again: the entry is unchanged, only the item is written
        assert status_to("READY") == 3
        # A refused conditional write is billed by the item as it is
        with pytest.raises(ClientError):
            dynamodb.put_item(TableName="images", Item=key, ConditionExpression="attribute_not_exists(id)")
        assert meter.take() == 3
