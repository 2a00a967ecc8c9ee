"""Test harness for the processing service on moto: real buckets, table and key, the real handlers, and the state
machine's own definition (statemachine.asl.yaml) deciding which handler runs next and where its result goes."""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from image_settings import TEST_MAX_UPLOAD_BYTES
from imgplat_common.keys import new_image_id
from imgplat_common.models import ImageRecord, utc_now_iso
from imgplat_common.observability import logger
from imgplat_common.settings import load_settings
from imgplat_common.status import ImageStatus
from imgplat_processing import image_steps, store
from imgplat_processing.workflow_state import ProcessingRequest
from moto import mock_aws

from local.lambda_runtime import (
    LambdaContext,
    environment_from_defaults,
    function_key_for_logical_id,
    function_memory_mb,
    function_timeout_seconds,
    import_handler,
)
from local.serverless_files import load_yaml

SERVICE_DIR = Path(__file__).resolve().parents[2]
OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
ORIGINALS_BUCKET = "test-originals"
RENDITIONS_BUCKET = "test-renditions"
IMAGES_TABLE = "test-images"
EVENT_BUS = "test-events"
INGEST_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:ingest"  # the queue the tests create is named "ingest"


@cache
def serverless_definition() -> dict[str, Any]:
    return load_yaml(SERVICE_DIR / "serverless.yml")


def serverless_functions() -> dict[str, dict[str, Any]]:
    functions: dict[str, dict[str, Any]] = serverless_definition()["functions"]
    return functions


@cache
def state_machine_definition() -> dict[str, Any]:
    return yaml.safe_load((SERVICE_DIR / "statemachine.asl.yaml").read_text())


def invoke(function_key: str, event: dict[str, Any]) -> Any:
    """Call the function's handler as Lambda would: JSON in, JSON out, a fresh context sized as serverless.yml says."""
    config = serverless_definition()
    handler = import_handler(config["functions"][function_key]["handler"])
    context = LambdaContext(
        function_name=f"{config['service']}-test-{function_key}",
        memory_limit_in_mb=function_memory_mb(config, function_key),
        timeout_seconds=function_timeout_seconds(config, function_key),
    )
    return json.loads(json.dumps(handler(json.loads(json.dumps(event)), context)))


def lambda_error(error: Exception) -> dict[str, str]:
    """What a Catch receives when a Lambda task raised `error` (Error = class name, Cause = the Lambda error JSON).

    An exception may name the Lambda error itself (`lambda_error_type`), for failures of the runtime rather than of
    the handler, such as `Runtime.ExitError` when the worker process dies mid-step.
    """
    name = getattr(error, "lambda_error_type", None) or type(error).__name__
    return {"Error": name, "Cause": json.dumps({"errorMessage": str(error), "errorType": name, "stackTrace": []})}


def _matches(rule: dict[str, Any], error_name: str) -> bool:
    return error_name in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]


def _merged(state: dict[str, Any], result_path: str, result: Any) -> dict[str, Any]:
    assert result_path.startswith("$.") and "." not in result_path[2:], f"unsupported ResultPath {result_path}"
    return {**state, result_path[2:]: result}


def _chosen(spec: dict[str, Any], state: dict[str, Any]) -> str:
    """The next state of a Choice state; only the `BooleanEquals` rules this workflow uses are understood."""
    for rule in spec["Choices"]:
        assert set(rule) == {"Variable", "BooleanEquals", "Next"}, f"the test runner does not know the rule {rule}"
        value: Any = state
        for part in rule["Variable"].removeprefix("$.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is rule["BooleanEquals"]:
            return str(rule["Next"])
    return str(spec["Default"])


@dataclass
class WorkflowRun:
    end_state: str  # a Succeed or Fail state's name, or "ExecutionFailed" when an error was not caught
    state: dict[str, Any]
    path: list[str]
    errors: list[dict[str, str]]  # the errors that went to a Catch (or failed the execution)
    retried: list[tuple[str, str]] = field(default_factory=list)  # (state, error) of every attempt a Retry repeated


StateHook = Callable[[dict[str, Any]], dict[str, Any] | None]


def run_workflow(request: ProcessingRequest, before: dict[str, StateHook] | None = None) -> WorkflowRun:
    """Execute statemachine.asl.yaml with the real handlers: Task, Retry, Catch, ResultPath, Choice, Succeed, Fail.

    A fast path, kept on purpose: it runs in the test's own thread, without Retry's waits or an emulated Step
    Functions, so the many fault tests stay quick, and a hook can change the world just before any state.
    tests/local_platform/test_workflow_fast_path.py proves it equivalent to the real state machine executed by moto
    (the way local/ runs it) on every path of the definition; a construct it does not know fails loudly here.

    `before` maps a state name to a hook run (once) just before that state, to change the world or the state.
    """
    definition = state_machine_definition()
    state: dict[str, Any] = request.model_dump(mode="json")
    name = definition["StartAt"]
    path: list[str] = []
    errors: list[dict[str, str]] = []
    retried: list[tuple[str, str]] = []
    while True:
        path.append(name)
        spec = definition["States"][name]
        if spec["Type"] in ("Succeed", "Fail"):
            return WorkflowRun(name, state, path, errors, retried)
        if spec["Type"] == "Choice":
            name = _chosen(spec, state)
            continue
        assert spec["Type"] == "Task", f"the test runner does not know {spec['Type']} states"
        if before and name in before:
            state = before[name](state) or state
        function_key = function_key_for_logical_id(serverless_functions(), spec["Resource"]["Fn::GetAtt"][0])
        failure: dict[str, str] | None = None
        for attempt in itertools.count(1):
            try:
                result = invoke(function_key, state)
                failure = None
                break
            except Exception as error:
                failure = lambda_error(error)
                retrier = next((rule for rule in spec.get("Retry", []) if _matches(rule, failure["Error"])), None)
                if retrier is None or attempt > retrier["MaxAttempts"]:
                    break
                retried.append((name, failure["Error"]))
        if failure is None:
            state = _merged(state, spec["ResultPath"], result)
            name = spec["Next"]
            continue
        errors.append(failure)
        catcher = next((rule for rule in spec.get("Catch", []) if _matches(rule, failure["Error"])), None)
        if catcher is None:
            return WorkflowRun("ExecutionFailed", state, path, errors, retried)
        state = _merged(state, catcher["ResultPath"], failure)
        name = catcher["Next"]


WORKFLOW_TYPES = ("STANDARD", "EXPRESS")


@dataclass
class Workflow:
    """Starting executions as the orchestrator does (a fresh execution token each time), with one workflow type's
    start semantics: a Standard workflow starts a run's name only once; an Express workflow starts every request,
    so a duplicate or late event of the same run becomes a second execution, which only Claim can stop."""

    workflow_type: str
    started_runs: set[str] = field(default_factory=set)

    def start(self, request: ProcessingRequest, before: dict[str, StateHook] | None = None) -> WorkflowRun | None:
        """The execution's run, or None when Step Functions refuses the start (ExecutionAlreadyExists)."""
        if self.workflow_type == "STANDARD" and request.run_id in self.started_runs:
            return None
        self.started_runs.add(request.run_id)
        return run_workflow(ProcessingRequest.model_validate_json(request.execution_input()), before)


@pytest.fixture(params=WORKFLOW_TYPES)
def workflow(request: pytest.FixtureRequest) -> Workflow:
    """Each test that takes it runs once per workflow type (the workflowType param, docs/architecture.md)."""
    return Workflow(request.param)


@dataclass
class Platform:
    """The AWS resources the processing service works with, as moto holds them."""

    kms_key_arn: str
    s3: Any
    table: Any

    def upload(
        self, data: bytes, content_type: str = "image/jpeg", run_suffix: str = "0123456789abcdef"
    ) -> ProcessingRequest:
        """A PENDING record and its original in the bucket, as the upload service leaves them; the workflow input."""
        image_id = new_image_id()
        record = ImageRecord.pending(OWNER, image_id, content_type, utc_now_iso(), declared_size=len(data))
        key = record.original_key
        self.table.put_item(Item=record.to_item())
        self.s3.put_object(Bucket=ORIGINALS_BUCKET, Key=key, Body=data, ContentType=content_type)
        return ProcessingRequest(
            bucket=ORIGINALS_BUCKET,
            key=key,
            owner=OWNER,
            image_id=image_id,
            size=len(data),
            run_id=f"{image_id}-{run_suffix}",
        )

    def record(self, request: ProcessingRequest) -> ImageRecord:
        item = self.table.get_item(Key={"owner": request.owner, "image_id": request.image_id}, ConsistentRead=True)
        return ImageRecord.from_item(item["Item"])

    def item(self, request: ProcessingRequest) -> dict[str, Any] | None:
        return self.table.get_item(Key={"owner": request.owner, "image_id": request.image_id}).get("Item")

    def renditions_keys(self, prefix: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=RENDITIONS_BUCKET, Prefix=prefix)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))

    def original_tags(self, request: ProcessingRequest) -> dict[str, str]:
        tag_set = self.s3.get_object_tagging(Bucket=ORIGINALS_BUCKET, Key=request.key)["TagSet"]
        return {tag["Key"]: tag["Value"] for tag in tag_set}


def _clear_container_caches() -> None:
    load_settings.cache_clear()
    store.s3_client.cache_clear()
    store.dynamodb_client.cache_clear()
    store.stepfunctions_client.cache_clear()
    store.events_client.cache_clear()
    store.processing_store.cache_clear()
    image_steps._watermark_logo.cache_clear()


@cache
def images_table_definition() -> dict[str, Any]:
    """The images table as the upload service defines it (keys and the status index the reconciler Queries)."""
    properties = load_yaml(SERVICE_DIR.parent / "upload" / "serverless.yml")["resources"]["Resources"]["ImagesTable"]
    wanted = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")
    return {name: properties["Properties"][name] for name in wanted}


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """Fresh moto resources and the function environment serverless.yml would set."""
    with mock_aws():
        kms_key_arn = boto3.client("kms").create_key(Description="platform key")["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3")
        for bucket in (ORIGINALS_BUCKET, RENDITIONS_BUCKET):
            s3.create_bucket(Bucket=bucket)
        dynamodb = boto3.resource("dynamodb")
        table = dynamodb.create_table(
            TableName=IMAGES_TABLE, BillingMode="PAY_PER_REQUEST", **images_table_definition()
        )
        boto3.client("events").create_event_bus(Name=EVENT_BUS)
        resources = {
            "EVENT_BUS_NAME": EVENT_BUS,
            "IMAGES_TABLE": IMAGES_TABLE,
            "ORIGINALS_BUCKET": ORIGINALS_BUCKET,
            "RENDITIONS_BUCKET": RENDITIONS_BUCKET,
            "KMS_KEY_ARN": kms_key_arn,
            "WATERMARK_LOGO_KEY": "",
            "MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD_BYTES),
            "IMAGES_STATUS_INDEX": images_table_definition()["GlobalSecondaryIndexes"][0]["IndexName"],
        }
        # Some of these only one function declares (the status index is the reconciler's): every function gets all.
        environment = {
            **resources,
            **environment_from_defaults(serverless_definition(), stage="test", resources=resources),
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        _clear_container_caches()
        yield Platform(kms_key_arn=kms_key_arn, s3=s3, table=table)
    _clear_container_caches()


LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logged() -> Iterator[LogLines]:
    """The JSON log lines the functions write, as dicts (Powertools' stream handler is pointed at a buffer)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    if previous is not None:
        handler.setStream(previous)


def published_metrics(output: str) -> dict[str, float]:
    """The sum of each metric the handlers published (CloudWatch embedded metric format lines on stdout)."""
    sums: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = document[metric["Name"]]
            sums[metric["Name"]] = sums.get(metric["Name"], 0) + sum(value if isinstance(value, list) else [value])
    return sums


def assert_settled(platform: Platform, request: ProcessingRequest, status: ImageStatus) -> ImageRecord:
    """The invariants after any fault: one record for the image, in a terminal `status`, and no orphan files (the
    renditions bucket holds exactly what a READY record references, nothing for any other status, no work files)."""
    from boto3.dynamodb.conditions import Key

    items = platform.table.query(KeyConditionExpression=Key("owner").eq(request.owner), ConsistentRead=True)["Items"]
    assert [item["image_id"] for item in items].count(request.image_id) == 1
    record = platform.record(request)
    assert record.status is status and status.is_terminal, (record.status, record.reason, record.error_id)
    image_prefix = f"renditions/{request.owner}/{request.image_id}/"
    referenced = sorted(file.key for rendition in record.renditions.values() for file in rendition.files.values())
    assert platform.renditions_keys(image_prefix) == (referenced if status is ImageStatus.READY else [])
    assert platform.renditions_keys(f"work/{request.owner}/{request.image_id}/") == []
    if status is ImageStatus.FAILED:
        assert record.error_id and len(record.error_id) == 32
    return record


@pytest.fixture
def state_machine_arn(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> str:
    """A workflow that only records its executions (these tests run the real steps themselves)."""
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
    arn: str = boto3.client("stepfunctions").create_state_machine(
        name="imgplat-processing-test-workflow",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/workflow",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    load_settings.cache_clear()
    return arn


def executions(state_machine_arn: str) -> list[dict[str, Any]]:
    """Every execution of the state machine, described."""
    client = boto3.client("stepfunctions")
    listed = client.list_executions(stateMachineArn=state_machine_arn)["executions"]
    return [client.describe_execution(executionArn=execution["executionArn"]) for execution in listed]
