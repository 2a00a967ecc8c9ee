"""Contracts between the services: what one exports is what another consumes, in the same sense (ARN, name, URL),
and the shapes that cross a service boundary are written by one side and read by the other without loss.

- Exports: every CloudFormation output has a consumer (a compose param) or a written reason (EXPORTS_FOR_PEOPLE).
- Meaning: each wired param is used, in the consumer's serverless.yml, only where its producer's kind of value fits.
- Events: upload's bucket notification -> the ingest queue -> processing's orchestrator -> the state machine input
  (imgplat_processing.workflow_state.ProcessingRequest), for a key made exactly as upload makes it.
- Records: the images table item as upload creates it and processing completes it (imgplat_common.models.ImageRecord)
  is what retrieval reads, through each service's own code, on one moto table built from upload's definition.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from imgplat_common.keys import new_image_id, original_key
from imgplat_common.models import ExifSummary, ImageRecord, Rendition, RenditionFile
from imgplat_common.status import ImageStatus
from moto import mock_aws

from local.serverless_files import compose, load_yaml, param_default, serverless_config, service_dir, service_names

PARAM_REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\}$")
PARAM_USE = re.compile(r"\$\{param:(\w+)(?:,[^}]*)?\}")

# Outputs no service consumes, and who they are for. A new output needs a consumer or a line here.
EXPORTS_FOR_PEOPLE = {
    ("auth", "UserPoolId"): "clients and operators: the pool a sign-in UI or the AWS console points at",
    ("auth", "UserPoolClientId"): "clients: the public app client id a browser or mobile app signs in with",
    ("upload", "OriginalsBucketArn"): "operators: bucket policies and IAM for tooling outside the platform",
    ("upload", "IngestDlqArn"): "operators: inspecting and redriving failed notifications (README)",
    ("processing", "RenditionsBucketArn"): "operators: a CDN origin or replication outside the platform",
    ("processing", "StateMachineArn"): "operators: looking at and redriving workflow executions",
    ("processing", "EventArchiveArn"): "other teams: replaying the events they missed (docs/events.md)",
    ("delivery", "DistributionId"): "operators: pinning processing's and upload's cdnDistributionId; invalidations",
    ("delivery", "DistributionArn"): "operators: policies outside the platform that name the distribution",
    ("delivery", "DistributionDomainName"): "operators: the CNAME (or alias) target of a custom domain",
    ("delivery", "KeyGroupId"): "operators: adding the next public key when rotating the signing key",
}

ARN, NAME, URL, ID = "ARN", "name", "URL", "id"
# A contract value rather than a resource: an output that re-exports a param of its stack (upload's MaxUploadBytes).
VALUE = "value"
# Properties that take an ARN whatever resource they sit in.
ARN_PROPERTIES = {"ProviderARNs", "KmsKeyId", "KMSMasterKeyID", "KmsMasterKeyId"}
# What `Ref` returns for each resource type an output refers to (CloudFormation's documented return values).
REF_KIND = {
    "AWS::S3::Bucket": NAME,
    "AWS::DynamoDB::Table": NAME,
    "AWS::SQS::Queue": URL,
    "AWS::KMS::Key": ID,
    "AWS::Cognito::UserPool": ID,
    "AWS::Cognito::UserPoolClient": ID,
    "AWS::StepFunctions::StateMachine": ARN,
    "AWS::SNS::Topic": ARN,
    "AWS::Events::EventBus": NAME,
    "AWS::CloudFront::PublicKey": ID,
    "AWS::CloudFront::KeyGroup": ID,
    "AWS::CloudFront::Distribution": ID,
}
GETATT_KIND = {"Arn": ARN, "QueueName": NAME, "QueueUrl": URL}
# What an environment variable's name says it holds (CDN_PRIVATE_KEY_PARAMETER: the name of an SSM parameter, which
# its producer re-exports from a param).
ENVIRONMENT_SUFFIX_KIND = {
    "_BUCKET": NAME,
    "_TABLE": NAME,
    "_NAME": NAME,
    "_ARN": ARN,
    "_BYTES": VALUE,
    "_URL": URL,
    "_ID": ID,
    "_PARAMETER": VALUE,
}


def _output_kind(service: str, output: str) -> str:
    """ARN, name, URL or id: what the producer's output value is, from the intrinsic and the resource's type."""
    config = serverless_config(service)
    value = config["resources"]["Outputs"][output]["Value"]
    resources = config["resources"]["Resources"]
    if isinstance(value, str) and value.startswith("${param:"):
        return VALUE
    if "Fn::If" in value and all("Ref" in branch for branch in value["Fn::If"][1:]):
        # auth's AlarmTopicArn: the topic it creates, or the one a template parameter names (an ARN by its name)
        parameters = config["resources"].get("Parameters") or {}
        kinds = {
            ARN if ref in parameters and ref.endswith("Arn") else REF_KIND[resources[ref]["Type"]]
            for ref in (branch["Ref"] for branch in value["Fn::If"][1:])
        }
        assert len(kinds) == 1, f"{service}.{output}: its branches are different kinds of value: {kinds}"
        return kinds.pop()
    if "Fn::If" in value:
        branches = value["Fn::If"][1:]
        # An optional resource's output: the resource, or "none" where the stage makes none (auth's WebAclArn)
        made = [branch for branch in branches if branch != "none"]
        if len(made) == 1:
            value = made[0]
        else:  # each branch an https:// address (delivery's CdnBaseUrl: custom domain or CloudFront's)
            assert all(str(branch.get("Fn::Sub", "")).startswith("https://") for branch in branches), output
            return URL
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        assert logical_id in resources, f"{service}.{output} points at {logical_id}, which is not declared"
        return GETATT_KIND[attribute]
    logical_id = value["Ref"]
    # Resources the framework or a plugin generates are not in serverless.yml; the state machine is the only one.
    resource_type = resources[logical_id]["Type"] if logical_id in resources else "AWS::StepFunctions::StateMachine"
    return REF_KIND[resource_type]


def _expected_kind(path: tuple[Any, ...], text: str, param: str, parent: Any) -> str | None:
    """The kind of value a use of ${param:...} needs, from where it stands; None for a use this table does not know."""
    reference = f"${{param:{param}}}"
    # An optional use, `${param:x, null}`, needs the same kind as `${param:x}`.
    text = re.sub(r"\$\{param:(\w+),[^}]*\}", r"${param:\1}", text)
    keys = [step for step in path if isinstance(step, str)]
    if text == reference:
        return _whole_value_kind(keys, parent)
    return _spliced_kind(keys, text, reference)


def _spliced_kind(keys: list[str], text: str, reference: str) -> str | None:
    """The kind a parameter needs where it is only a part of a longer string."""
    before = text.split(reference, 1)[0]
    if before.startswith("arn:"):
        return NAME  # spliced into an ARN the consumer builds itself (arn:...:s3:::<bucket>/...)
    if not before and text.startswith(f"{reference}.s3."):
        return NAME  # a bucket's REST endpoint (<bucket>.s3.<region>.amazonaws.com), a CloudFront origin
    if not before and text.startswith(f"{reference}/") and "Resource" in keys[-2:]:
        return ARN  # a part of the resource the ARN names (a table's index: <table ARN>/index/<name>)
    return None


def _whole_value_kind(keys: list[str], parent: Any) -> str | None:
    """The kind a parameter needs where it is the whole value of a property."""
    last = keys[-1]
    if "Resource" in keys[-2:] or last in ARN_PROPERTIES or keys[-2:] == ["sqs", "arn"]:
        return ARN
    if "environment" in keys[-2:-1]:
        return ENVIRONMENT_SUFFIX_KIND.get(last[last.rfind("_") :])
    if keys[-3:-2] == ["Parameters"] and last == "Default":  # a template parameter, named as an environment variable
        name = keys[-2]
        return next(
            (kind for suffix, kind in ENVIRONMENT_SUFFIX_KIND.items() if name.upper().endswith(suffix[1:])), None
        )
    if last == "Value" and isinstance(parent, dict) and parent.get("Name") == "QueueName":
        return NAME  # a CloudWatch SQS metric dimension
    if keys[-2:] == ["alarms", "topic"]:
        return ARN  # the topic's ARN, every alarm's action (scripts/osls-plugin-alarms.js)
    return None


def _param_uses(
    node: Any, path: tuple[Any, ...] = (), parent: Any = None
) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _param_uses(value, (*path, key), node)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _param_uses(value, (*path, index), parent)
    elif isinstance(node, str) and PARAM_USE.search(node):
        yield path, node, parent


def test_every_export_has_a_consumer_or_a_written_reason():
    consumed = {
        PARAM_REFERENCE.match(str(reference)).groups()
        for service in compose()["services"].values()
        for reference in (service.get("params") or {}).values()
    }
    exported = {
        (name, output) for name in service_names() for output in serverless_config(name)["resources"].get("Outputs", {})
    }
    unexplained = exported - consumed - set(EXPORTS_FOR_PEOPLE)
    assert not unexplained, f"outputs with no consumer and no reason in EXPORTS_FOR_PEOPLE: {sorted(unexplained)}"
    stale = set(EXPORTS_FOR_PEOPLE) - (exported - consumed)
    assert not stale, f"EXPORTS_FOR_PEOPLE names outputs that are consumed or gone: {sorted(stale)}"


def test_every_wired_param_is_used_only_where_its_producers_kind_of_value_fits():
    for name in service_names():
        wired = {
            param: _output_kind(*PARAM_REFERENCE.match(str(reference)).groups())
            for param, reference in (compose()["services"][name].get("params") or {}).items()
        }
        checked: set[str] = set()
        for path, text, parent in _param_uses(load_yaml(service_dir(name) / "serverless.yml")):
            if path[:1] == ("params",):
                continue
            for param in PARAM_USE.findall(text):
                if param not in wired:
                    continue
                expected = _expected_kind(path, text, param, parent)
                where = f"{name}: ${{param:{param}}} at {'.'.join(map(str, path))}"
                assert expected is not None, f"{where}: teach _expected_kind what this use needs"
                assert expected == wired[param], f"{where} needs a {expected}, its producer exports a {wired[param]}"
                checked.add(param)
        assert checked == set(wired), f"{name}: wired params never checked: {set(wired) - checked}"


# --- S3 notification -> ingest queue -> orchestrator -> state machine input ----------------------------------------

OWNER = "0d5c2a7e-3f1b-4a8e-9c61-2b7f4e1d9a00"
ORIGINALS_BUCKET = "imgplat-upload-dev-originals-123456789012"


def _s3_notification(bucket: str, key: str, size: int, event_name: str = "ObjectCreated:Post") -> str:
    """The body S3 puts on the ingest queue for one new object (event structure 2.1; the key URL-encoded)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T10:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:imgplat-upload-dev-create_upload"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "ingest",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": urllib.parse.quote_plus(key),
                "size": size,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
                "sequencer": "0055AED6DCD90281E5",
            },
        },
    }
    return json.dumps({"Records": [record]})


def _sqs_batch(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"059f36b4-87a3-44ab-83d2-66197522890{index}",
                "receiptHandle": f"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795000000000"},
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:imgplat-upload-dev-ingest",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def _orchestrate(event: dict[str, Any], bucket: str) -> tuple[dict[str, Any], list[str]]:
    """Processing's orchestrator on an SQS batch; returns its answer and the workflow inputs it started."""
    from imgplat_processing.orchestration import start_workflows_for_batch

    started: list[str] = []

    def start(name: str, payload: str) -> bool:
        started.append(payload)
        return True

    return dict(start_workflows_for_batch(event, bucket, start)), started


def test_upload_notifies_the_ingest_queue_of_exactly_the_keys_it_issues():
    resources = serverless_config("upload")["resources"]["Resources"]
    (queue_config,) = resources["OriginalsBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert queue_config["Event"].startswith("s3:ObjectCreated:")
    assert queue_config["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    ((rule,),) = [queue_config["Filter"]["S3Key"]["Rules"]]
    assert rule == {"Name": "prefix", "Value": "originals/"}
    assert original_key(OWNER, new_image_id()).startswith(rule["Value"])
    # ...and processing listens on that queue (compose wires upload's IngestQueueArn into the SQS event).
    assert compose()["services"]["processing"]["params"]["ingestQueueArn"] == "${upload.IngestQueueArn}"
    (event,) = serverless_config("processing")["functions"]["orchestrator"]["events"]
    assert event["sqs"]["arn"] == "${param:ingestQueueArn}"


def test_an_s3_notification_for_an_uploaded_key_becomes_the_state_machine_input():
    from imgplat_upload.uploads import UploadRequest

    ticket, record = _upload(UploadRequest(content_type="image/jpeg", filename="holiday photo.jpg", size=48213))
    body = _s3_notification(ORIGINALS_BUCKET, record.original_key, 48213)

    answer, started = _orchestrate(_sqs_batch(body), ORIGINALS_BUCKET)

    assert answer == {"batchItemFailures": []}
    (payload,) = started
    from imgplat_processing.workflow_state import ProcessingRequest, WorkflowState

    request = ProcessingRequest.model_validate_json(payload)
    assert (request.bucket, request.key, request.size) == (ORIGINALS_BUCKET, record.original_key, 48213)
    assert (request.owner, request.image_id) == (record.owner, ticket.image_id)
    assert request.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    # The state machine's steps read the same document as their workflow state (the request at the top).
    assert WorkflowState.model_validate_json(payload).model_dump(include=set(ProcessingRequest.model_fields)) == (
        request.model_dump()
    )


def test_the_orchestrator_drops_s3_test_events_and_keys_upload_never_issues():
    bodies = [
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": ORIGINALS_BUCKET}),
        _s3_notification(ORIGINALS_BUCKET, "originals/not-a-sub/not-an-id", 10),
        _s3_notification(ORIGINALS_BUCKET, original_key(OWNER, new_image_id()), 10, "ObjectRemoved:Delete"),
    ]

    answer, started = _orchestrate(_sqs_batch(*bodies), ORIGINALS_BUCKET)

    assert answer == {"batchItemFailures": []}
    assert started == []


# --- the image record: upload creates, processing completes, retrieval reads ---------------------------------------


class _Signer:
    """Upload's signer without AWS (signing is local and not part of the record's contract)."""

    def presign_post(self, key: str, fields: dict[str, str], conditions: list[Any], expires_in: int) -> Any:
        from imgplat_upload.uploads import PresignedPost

        return PresignedPost(url="https://originals.example", fields={"key": key, **fields})

    def presign_put(self, key: str, headers: Any, expires_in: int) -> str:
        return f"https://originals.example/{key}"


class _Records:
    def __init__(self) -> None:
        self.created: list[ImageRecord] = []

    def create(self, record: ImageRecord) -> None:
        self.created.append(record)


def _upload(request: Any, records: Any = None) -> tuple[Any, ImageRecord]:
    """Upload's own logic (start_upload) for `request` by OWNER; returns the ticket and the record it stored."""
    from imgplat_upload.settings import UploadSettings
    from imgplat_upload.uploads import start_upload

    settings = UploadSettings(
        images_table=TABLE,
        originals_bucket=ORIGINALS_BUCKET,
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        max_upload_bytes=param_default("upload", "maxUploadBytes"),
    )
    capture = _Records()
    ticket = start_upload(request, OWNER, settings, capture, _Signer())
    (record,) = capture.created
    if records is not None:
        records.create(record)
    return ticket, record


TABLE = "imgplat-upload-dev-images"
EVENT_BUS = "imgplat-processing-dev-events"


@pytest.fixture
def images_table() -> Iterator[Any]:
    """The images table as upload's serverless.yml defines its keys, on moto; the services' cached clients reset."""
    from imgplat_processing import store as processing_store
    from imgplat_upload import store as upload_store

    caches = [
        upload_store.dynamodb_client,
        processing_store.dynamodb_client,
        processing_store.s3_client,
        processing_store.events_client,
        processing_store.processing_store,
    ]
    definition = serverless_config("upload")["resources"]["Resources"]["ImagesTable"]["Properties"]
    with mock_aws():
        for cached in caches:
            cached.cache_clear()
        boto3.client("events", region_name="us-east-1").create_event_bus(Name=EVENT_BUS)
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        table = dynamodb.create_table(
            TableName=TABLE,
            KeySchema=definition["KeySchema"],
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexes=definition["GlobalSecondaryIndexes"],
            BillingMode=definition["BillingMode"],
        )
        yield table
        for cached in caches:
            cached.cache_clear()


def _retrieval_reads(table: Any, owner: str, image_id: str) -> tuple[ImageRecord, dict[str, Any], list[ImageRecord]]:
    """Retrieval's own store and view of the record: get, describe, list."""
    from imgplat_retrieval.images import describe_image
    from imgplat_retrieval.ownership import find_image
    from imgplat_retrieval.settings import RetrievalSettings
    from imgplat_retrieval.store import RetrievalStore

    settings = RetrievalSettings(
        images_table=TABLE, originals_bucket=ORIGINALS_BUCKET, renditions_bucket="r", event_bus_name=EVENT_BUS
    )
    events = boto3.client("events", region_name="us-east-1")
    reader = RetrievalStore(table, boto3.client("s3", region_name="us-east-1"), lambda: events, settings)
    record = find_image(reader, owner, image_id)
    listed, _ = reader.list_images(owner, limit=10, after_image_id=None)
    return record, describe_image(record).model_dump(mode="json"), listed


def test_the_pending_record_upload_writes_is_what_retrieval_reads(images_table):
    from imgplat_upload.store import DynamoImageRecords
    from imgplat_upload.uploads import UploadRequest

    ticket, written = _upload(UploadRequest(content_type="image/jpg", filename="cat.jpg"), DynamoImageRecords(TABLE))

    read, view, listed = _retrieval_reads(images_table, OWNER, ticket.image_id)

    assert read == written
    assert listed == [written]
    assert view["status"] == "PENDING" and view["content_type"] == "image/jpeg" and view["filename"] == "cat.jpg"


def test_the_ready_record_processing_writes_over_uploads_record_is_what_retrieval_reads(images_table):
    from imgplat_processing.bookkeeping_steps import claim, persist
    from imgplat_processing.settings import ProcessingSettings
    from imgplat_processing.store import processing_store
    from imgplat_processing.workflow_state import Rendered, Resized, ValidatedOriginal, WorkflowState
    from imgplat_upload.store import DynamoImageRecords
    from imgplat_upload.uploads import UploadRequest

    ticket, pending = _upload(UploadRequest(content_type="image/png", size=5000), DynamoImageRecords(TABLE))
    s3 = boto3.client("s3", region_name="us-east-1")  # the original as it arrived (Claim re-tags it)
    s3.create_bucket(Bucket=ORIGINALS_BUCKET)
    s3.put_object(
        Bucket=ORIGINALS_BUCKET, Key=pending.original_key, Body=b"\x89PNG" + bytes(4996), Tagging="status=unclaimed"
    )
    _, (payload,) = _orchestrate(_sqs_batch(_s3_notification(ORIGINALS_BUCKET, pending.original_key, 5000)), "")
    state = WorkflowState.model_validate_json(payload)
    settings = ProcessingSettings(
        images_table=TABLE,
        originals_bucket=ORIGINALS_BUCKET,
        renditions_bucket="r",
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/contract",
        max_upload_bytes=int(param_default("upload", "maxUploadBytes")),
        event_bus_name=EVENT_BUS,
    )
    store = processing_store()
    state = state.model_copy(update={"claim": claim(state, settings, store)})
    medium = Rendition(
        name="medium",
        long_edge=800,
        watermarked=True,
        files={
            "jpeg": RenditionFile(key="renditions/x/medium.jpg", width=800, height=600, bytes=51234),
            "webp": RenditionFile(key="renditions/x/medium.webp", width=800, height=600, bytes=40321),
        },
    )
    state = state.model_copy(
        update={
            "validated": ValidatedOriginal(
                format="PNG",
                mime_type="image/png",
                width=1600,
                height=1200,
                frames=1,
                mode="RGB",
                bytes=5000,
                sha256="ab" * 32,
                exif=ExifSummary(camera_make="Fujifilm"),
            ),
            "resized": Resized(
                work_key="work/unused",
                intermediates={},
                placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                dominant_color="#1a2b3c",
            ),
            "rendered": Rendered(renditions={"medium": medium}),
        }
    )

    persist(state, settings, store)
    read, view, listed = _retrieval_reads(images_table, OWNER, ticket.image_id)

    assert read.status is ImageStatus.READY and listed == [read]
    # Everything upload wrote is still there, untouched by processing.
    assert read.model_dump(include={"owner", "image_id", "created_at", "original_key", "content_type"}) == (
        pending.model_dump(include={"owner", "image_id", "created_at", "original_key", "content_type"})
    )
    assert read.run_id == state.execution_id  # the execution that holds it: the run id and its token
    assert (read.width, read.height, read.format, read.sha256) == (1600, 1200, "PNG", "ab" * 32)
    assert read.exif == ExifSummary(camera_make="Fujifilm")
    assert read.renditions == {"medium": medium}
    assert view["metadata"]["dominant_color"] == "#1a2b3c"
    assert set(view["renditions"]) == {"medium"}


def test_the_ingest_message_shape_is_the_shared_model_on_both_sides():
    """S3's notification for a key upload issues parses with the one model (libs/common) the orchestrator reads."""
    from imgplat_common.events import S3Notification
    from imgplat_common.keys import parse_original_key

    key = original_key(OWNER, new_image_id())
    notification = S3Notification.model_validate_json(_s3_notification(ORIGINALS_BUCKET, key, 1234))
    (record,) = notification.records
    assert record.event_name.startswith("ObjectCreated:")
    assert record.s3.bucket.name == ORIGINALS_BUCKET
    assert parse_original_key(urllib.parse.unquote_plus(record.s3.object.key)).owner == OWNER
    assert (record.s3.object.size, record.s3.object.version_id) == (1234, "096fKKXTRTtl3on89fVO.nfljtsv6qko")


def test_the_status_index_processing_queries_is_the_one_upload_defines_on_the_images_table():
    # The reconciler (processing) finds stuck records with a Query on this GSI of upload's table; the index name is
    # a processing param whose default must name an index that exists, with the keys the Query uses.
    table = serverless_config("upload")["resources"]["Resources"]["ImagesTable"]["Properties"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    index_name = serverless_config("processing")["params"]["default"]["imagesStatusIndexName"]
    index = indexes[index_name]
    assert [(key["AttributeName"], key["KeyType"]) for key in index["KeySchema"]] == [
        ("status", "HASH"),
        ("updated_at", "RANGE"),
    ]
    # The reconciler reads run_id from the index (to remove a dead run's work files); the rest it does not need.
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["run_id"]}
