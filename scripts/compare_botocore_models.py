"""Build the platform's AWS requests with botocore's own models and with the trimmed ones: they must be the same.

    python scripts/compare_botocore_models.py          # with this interpreter's boto3 (the pinned one in .venv)

In Lambda the trimmed models (imgplat_common/botocore_data) are read by the runtime's botocore, not the pinned one
they were written from. To check another botocore, e.g. the one a Lambda runtime ships:

    python3.12 -m venv /tmp/runtime-boto && /tmp/runtime-boto/bin/pip install boto3==1.34.162
    /tmp/runtime-boto/bin/python scripts/compare_botocore_models.py

No request leaves the process: each is captured as botocore is about to send it. Exit status 1 when any call's
method, URL, body or headers (apart from the date, signature and SDK identity) differ, or a pre-signed form does.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.session
from botocore.awsrequest import AWSResponse

# Run by another botocore's venv too, where imgplat_common is not installed: the library is taken from this tree.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "libs" / "common" / "src"))

from imgplat_common.botocore_models import DATA_DIR as TRIMMED_MODELS_DIR

DATA_DIR = Path(TRIMMED_MODELS_DIR)
STATE_MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:images"
# Headers that change from one signing to the next, or name the SDK: not part of what the model decides.
VOLATILE_HEADERS = {"authorization", "x-amz-date", "user-agent", "amz-sdk-invocation-id", "amz-sdk-request"}
VOLATILE_FIELDS = {"x-amz-signature", "x-amz-date", "policy", "signature", "expires"}

# One call of each kind the services make (service, operation, parameters).
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("dynamodb", "get_item", {"TableName": "images", "Key": {"owner": {"S": "o"}, "image_id": {"S": "i"}}}),
    (
        "dynamodb",
        "query",
        {
            "TableName": "images",
            "IndexName": "by-status",
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "PROCESSING"}},
            "Limit": 25,
        },
    ),
    (
        "dynamodb",
        "update_item",
        {
            "TableName": "images",
            "Key": {"owner": {"S": "o"}, "image_id": {"S": "i"}},
            "UpdateExpression": "SET #s = :s",
            "ConditionExpression": "#s = :p",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "READY"}, ":p": {"S": "PROCESSING"}},
        },
    ),
    (
        "s3",
        "put_object",
        {"Bucket": "renditions", "Key": "r/o/i/large.webp", "Body": b"x", "ContentType": "image/webp"},
    ),
    ("s3", "get_object", {"Bucket": "originals", "Key": "originals/o/i", "Range": "bytes=0-65535"}),
    ("s3", "head_object", {"Bucket": "originals", "Key": "originals/o/i"}),
    (
        "s3",
        "put_object_tagging",
        {"Bucket": "originals", "Key": "k", "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}},
    ),
    ("s3", "delete_objects", {"Bucket": "renditions", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}),
    ("s3", "list_objects_v2", {"Bucket": "renditions", "Prefix": "work/", "MaxKeys": 10}),
    ("events", "put_events", {"Entries": [{"Source": "imgplat", "DetailType": "ImageReady", "Detail": "{}"}]}),
    ("stepfunctions", "start_execution", {"stateMachineArn": STATE_MACHINE, "name": "n", "input": "{}"}),
    ("ssm", "get_parameter", {"Name": "/imgplat/dev/key", "WithDecryption": True}),
    (
        "cognito-idp",
        "initiate_auth",
        {"ClientId": "c", "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "u", "PASSWORD": "p"}},
    ),
    ("cognito-idp", "sign_up", {"ClientId": "c", "Username": "a@example.com", "Password": "Secret-123456"}),
]


def _session(trimmed: bool) -> boto3.Session:
    core = botocore.session.get_session()
    # The data path alone decides which models load: trimmed first, or botocore's own only.
    core.set_config_variable("data_path", str(DATA_DIR) if trimmed else "")
    return boto3.Session(
        botocore_session=core,
        region_name="us-east-1",
        aws_access_key_id="key",
        aws_secret_access_key="secret",  # noqa: S106 - signs requests that are never sent
    )


def _request(session: boto3.Session, service: str, operation: str, parameters: dict[str, Any]) -> tuple[Any, ...]:
    captured: list[Any] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 500, {}, None)  # not sent: an answer that ends the call

    client = session.client(service)
    client.meta.events.register("before-send", capture)
    # The made-up answer does not parse; the request is what is compared.
    with contextlib.suppress(Exception):
        getattr(client, operation)(**parameters)
    if not captured:
        return ("not sent",)
    request = captured[0]
    headers = sorted((name.lower(), str(value)) for name, value in request.headers.items())
    body = request.body.read() if hasattr(request.body, "read") else request.body
    kept = [(name, value) for name, value in headers if name not in VOLATILE_HEADERS]
    return request.method, request.url, body, kept


def _presigned(session: boto3.Session) -> tuple[Any, ...]:
    s3 = session.client("s3")
    form = s3.generate_presigned_post(
        "originals",
        "originals/o/i",
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 1000]],
        ExpiresIn=900,
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "renditions", "Key": "k"}, ExpiresIn=60)
    fields = sorted((name, value) for name, value in form["fields"].items() if name.lower() not in VOLATILE_FIELDS)
    query = sorted(part.split("=")[0] for part in url.split("?", 1)[1].split("&"))
    return form["url"], fields, url.split("?", 1)[0], query


def differences() -> list[str]:
    """What differs between the two sets of requests (empty: nothing)."""
    stock, trimmed = _session(trimmed=False), _session(trimmed=True)
    found = []
    for session, expected in ((stock, False), (trimmed, True)):
        loader = session._session.get_component("data_loader")
        _, path = loader.load_data_with_path("dynamodb/2012-08-10/service-2")
        if Path(path).is_relative_to(DATA_DIR) != expected:
            found.append(f"the {'trimmed' if expected else 'stock'} session loaded DynamoDB's model from {path}")
    for service, operation, parameters in CALLS:
        with_stock = _request(stock, service, operation, parameters)
        with_trimmed = _request(trimmed, service, operation, parameters)
        if with_stock != with_trimmed or with_stock == ("not sent",):
            found.append(f"{service}.{operation}: {with_stock!r} != {with_trimmed!r}")
    if _presigned(stock) != _presigned(trimmed):
        found.append(f"s3 pre-signed: {_presigned(stock)!r} != {_presigned(trimmed)!r}")
    return found


def main() -> int:
    found = differences()
    for difference in found:
        print(f"DIFFERS: {difference}")
    print(f"botocore {botocore.__version__}: {len(CALLS)} calls and 2 pre-signed URLs, {len(found)} differences")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
