"""Least privilege for the images table: it is SSE-KMS with the platform key, so every function that reads or
writes it may use that key, but only through DynamoDB. And the Watermark role's one listing permission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from imgplat_processing.settings import WATERMARK_LOGO_PREFIX

from local.serverless_files import load_yaml

SERVICES_DIR = Path(__file__).resolve().parents[3]
# (service, function) of every function that calls DynamoDB on the images table while writing.
TABLE_WRITERS = [
    ("processing", "claim"),
    ("processing", "persist"),
    ("processing", "markRejected"),
    ("processing", "markFailed"),
    ("upload", "create_upload"),
]


def _statements(service: str, function: str) -> list[dict[str, Any]]:
    config = load_yaml(SERVICES_DIR / service / "serverless.yml")
    statements: list[dict[str, Any]] = config["functions"][function]["iamRoleStatements"]
    return statements


@pytest.mark.parametrize(("service", "function"), TABLE_WRITERS)
def test_table_writers_may_use_the_platform_key_only_via_dynamodb(service: str, function: str):
    statements = _statements(service, function)
    assert any(action.startswith("dynamodb:") for statement in statements for action in statement["Action"])

    via_dynamodb = [
        statement
        for statement in statements
        if "kms:ViaService" in statement.get("Condition", {}).get("StringEquals", {})
        and "dynamodb" in str(statement["Condition"]["StringEquals"]["kms:ViaService"])
    ]

    (statement,) = via_dynamodb
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] in ("${param:kmsKeyArn}", {"Fn::GetAtt": ["PlatformKey", "Arn"]})
    assert "${AWS::Region}" in str(statement["Condition"]["StringEquals"]["kms:ViaService"])


def test_watermark_may_list_only_the_logos_folder_so_a_missing_logo_is_no_such_key():
    # S3 answers GetObject of a missing key with AccessDenied unless the caller may list that key: without this a
    # missing logo would fail every Watermark instead of stamping the text alone (image_steps._watermark_logo).
    statements = _statements("processing", "watermark")

    listing = [statement for statement in statements if "s3:ListBucket" in statement["Action"]]

    (statement,) = listing
    assert statement["Action"] == ["s3:ListBucket"] and statement["Effect"] == "Allow"
    assert statement["Resource"] == {"Fn::GetAtt": ["RenditionsBucket", "Arn"]}
    assert statement["Condition"] == {"StringLike": {"s3:prefix": [f"{WATERMARK_LOGO_PREFIX}*"]}}
    reads = [statement for statement in statements if statement["Action"] == ["s3:GetObject"]]
    assert {"Fn::Sub": f"${{RenditionsBucket.Arn}}/{WATERMARK_LOGO_PREFIX}*"} in reads[0]["Resource"]
