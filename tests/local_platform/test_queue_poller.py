"""The local SQS event source: batch size, partial batch failures, visibility timeout and redrive to the DLQ."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.event_sources import scheduled_event, schedules
from local.lambdas import FunctionSpec, Invocation
from local.platform import LocalPlatform

ACCOUNT = "123456789012"


@pytest.fixture
def queues():
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq_url = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
        redrive = {"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:ingest-dlq", "maxReceiveCount": "2"}
        url = sqs.create_queue(
            QueueName="ingest", Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        yield sqs, url, dlq_url


def consumer_platform(batches: list[list[str]], poison: str) -> LocalPlatform:
    """A platform with one SQS consumer that fails every message whose body is `poison`."""
    platform = LocalPlatform(lambda name: boto3.client(name, region_name="us-east-1"))
    consumer = FunctionSpec(
        service="processing",
        key="orchestrator",
        name="orchestrator",
        arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orchestrator",
        handler="unused.handler",
        environment={},
        timeout_seconds=30,
        memory_mb=256,
        events=[{"sqs": {"arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:ingest", "batchSize": 2}}],
    )
    platform.functions = {consumer.name: consumer}

    def run(_: FunctionSpec, event: dict[str, Any]) -> Invocation:
        batches.append([record["body"] for record in event["Records"]])
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == poison]
        return Invocation({"batchItemFailures": failures})

    platform.runner = run
    return platform


def test_batches_respect_the_batch_size_and_only_failed_messages_return(queues):
    sqs, url, dlq_url = queues
    for body in ("a", "b", "c", "poison"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    batches: list[list[str]] = []
    platform = consumer_platform(batches, poison="poison")

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        platform.deliver_queue_messages()
        dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        if dead:
            break
        time.sleep(0.3)

    assert all(len(batch) <= 2 for batch in batches)
    delivered = [body for batch in batches for body in batch]
    assert sorted(set(delivered)) == ["a", "b", "c", "poison"]
    assert delivered.count("a") == delivered.count("b") == delivered.count("c") == 1  # deleted after success
    assert delivered.count("poison") == 2  # redelivered after the visibility timeout, up to maxReceiveCount
    assert [m["Body"] for m in dead] == ["poison"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_scheduled_functions_are_found_with_their_period_and_get_an_eventbridge_event():
    def function(name: str, events: list[dict[str, Any]]) -> FunctionSpec:
        arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
        return FunctionSpec("processing", name, name, arn, "unused.handler", {}, 30, 256, events)

    functions = {
        # As `osls print` renders it: the rate is a list of expressions
        "reconciler": function("reconciler", [{"schedule": {"rate": ["rate(5 minutes)"], "enabled": True}}]),
        "hourly": function("hourly", [{"schedule": "rate(1 hour)"}]),
        "paused": function("paused", [{"schedule": {"rate": "rate(1 hour)", "enabled": "false"}}]),
        "api": function("api", [{"http": {"path": "x", "method": "get"}}]),
    }
    found = [(spec.name, period) for spec, period in schedules(functions.values())]
    assert found == [("reconciler", 300), ("hourly", 3600)]
    # A test or demo may run every schedule every few seconds instead
    assert [period for _, period in schedules(functions.values(), every_seconds=2)] == [2, 2]
    event = scheduled_event(functions["reconciler"], "us-east-1")
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
