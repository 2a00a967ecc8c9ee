"""The upload service's serverless.yml, read as data: the shared resources are encrypted, private and wired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.serverless_files import load_yaml

SERVERLESS_YML = Path(__file__).resolve().parents[2] / "serverless.yml"
KEY_ARN = {"Fn::GetAtt": ["PlatformKey", "Arn"]}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_yaml(SERVERLESS_YML)


@pytest.fixture(scope="module")
def resources(config) -> dict[str, Any]:
    return config["resources"]["Resources"]


def _properties(resources: dict[str, Any], name: str) -> dict[str, Any]:
    return resources[name]["Properties"]


ORIGINALS_BUCKET_NAME = (
    "${AWS::StackName}-originals-${AWS::AccountId}-${AWS::Region}"  # the region too: names are global
)


def test_platform_key_rotates_and_lets_s3_encrypt_notifications_for_this_account_only(resources):
    key = _properties(resources, "PlatformKey")
    assert key["EnableKeyRotation"] is True
    s3_statement = next(
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "s3.amazonaws.com"}
    )
    assert sorted(s3_statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    # For this account's originals bucket only, not any bucket of the account
    assert s3_statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::" + ORIGINALS_BUCKET_NAME}},
    }
    assert _properties(resources, "OriginalsBucket")["BucketName"] == {"Fn::Sub": ORIGINALS_BUCKET_NAME}
    assert _properties(resources, "PlatformKeyAlias")["AliasName"] == "alias/${self:service}-${sls:stage}"


def test_originals_bucket_is_kms_encrypted_with_bucket_keys_and_fully_private(resources):
    bucket = _properties(resources, "OriginalsBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}
    assert rule["BucketKeyEnabled"] is True
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["BucketName"] == {"Fn::Sub": "${AWS::StackName}-originals-${AWS::AccountId}-${AWS::Region}"}


def test_originals_bucket_policy_refuses_plain_http(resources):
    statements = _properties(resources, "OriginalsBucketPolicy")["PolicyDocument"]["Statement"]
    tls = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(tls["Resource"]) == 2  # the bucket and its objects


def test_originals_lifecycle_aborts_multipart_expires_rejected_and_optionally_all(resources):
    rules = _properties(resources, "OriginalsBucket")["LifecycleConfiguration"]["Rules"]
    by_id = {rule["Id"]: rule for rule in rules if "Id" in rule}
    assert by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    rejected = by_id["expire-rejected-originals"]
    assert rejected["TagFilters"] == [{"Key": "status", "Value": "rejected"}]
    assert rejected["ExpirationInDays"] == "${param:rejectedRetentionDays}"
    (optional,) = [rule["Fn::If"] for rule in rules if "Fn::If" in rule]
    assert optional[0] == "ExpireOriginals" and optional[2] == {"Ref": "AWS::NoValue"}


def test_new_originals_notify_the_ingest_queue_once_the_queue_allows_it(resources):
    bucket = resources["OriginalsBucket"]
    assert bucket["DependsOn"] == "IngestQueuePolicy"
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "originals/"}]


def test_ingest_queue_is_encrypted_redrives_to_the_dlq_and_outlives_the_orchestrator(resources):
    queue = _properties(resources, "IngestQueue")
    assert queue["KmsMasterKeyId"] == KEY_ARN
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["IngestDlq", "Arn"]},
        "maxReceiveCount": "${param:maxReceiveCount}",
    }
    assert queue["VisibilityTimeout"] == 180  # 6x the orchestrator's 30 s (tests/test_templates.py holds the pair)
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600
    dlq = _properties(resources, "IngestDlq")
    assert dlq["KmsMasterKeyId"] == KEY_ARN
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_only_the_originals_bucket_of_this_account_may_send_to_the_queue_and_only_over_tls(resources):
    statements = _properties(resources, "IngestQueuePolicy")["PolicyDocument"]["Statement"]
    allow = next(s for s in statements if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-originals-${AWS::AccountId}-${AWS::Region}"
    }
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_images_table_is_kms_encrypted_recoverable_and_keyed_by_owner_and_image_id(resources):
    table = _properties(resources, "ImagesTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "image_id", "KeyType": "RANGE"},
    ]
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionProtectionEnabled"] == "${param:tableDeletionProtection}"


def test_outputs_are_the_ones_other_services_consume(config):
    assert set(config["resources"]["Outputs"]) == {
        "KmsKeyArn",
        "OriginalsBucketName",
        "OriginalsBucketArn",
        "ImagesTableName",
        "ImagesTableArn",
        "IngestQueueArn",
        "IngestDlqArn",
        "IngestDlqName",
        "MaxUploadBytes",
    }


def test_create_upload_has_least_privilege_and_a_cognito_authorizer(config, resources):
    function = config["functions"]["create_upload"]
    statements = function["iamRoleStatements"]
    assert all("*" not in action for statement in statements for action in statement["Action"])
    star_resources = [s["Action"] for s in statements if s["Resource"] == "*"]
    assert star_resources == [["xray:PutTraceSegments", "xray:PutTelemetryRecords"]]
    granted = {action: statement["Resource"] for statement in statements for action in statement["Action"]}
    assert granted["dynamodb:PutItem"] == {"Fn::GetAtt": ["ImagesTable", "Arn"]}
    assert granted["s3:PutObject"] == {"Fn::Sub": "${OriginalsBucket.Arn}/originals/*"}
    assert granted["kms:GenerateDataKey"] == KEY_ARN
    # The key only through S3 (SSE-KMS of the original) or DynamoDB (the table); no kms:Encrypt, which nothing uses
    assert "kms:Encrypt" not in granted
    via = [s["Condition"]["StringEquals"]["kms:ViaService"] for s in statements if s["Action"][0].startswith("kms:")]
    assert via == [{"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}, {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}]
    (event,) = function["events"]
    assert event["http"]["authorizer"] == {
        "type": "COGNITO_USER_POOLS",
        "authorizerId": {"Ref": "ApiGatewayAuthorizer"},
    }
    authorizer = _properties(resources, "ApiGatewayAuthorizer")
    assert authorizer["ProviderARNs"] == ["${param:userPoolArn}"]
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"


def test_compose_wired_params_have_no_default(config):
    assert "userPoolArn" not in config["params"]["default"]
