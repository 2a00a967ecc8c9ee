"""The trimmed botocore models the functions' clients load (imgplat_common/botocore_models.py): the same models as
the pinned botocore's without their documentation, one for every AWS service the code makes a client of, and used by
a client made after a handlers package is imported, for real calls."""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.loaders
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import compare_botocore_models  # noqa: E402
from imgplat_common import botocore_models  # noqa: E402
from trim_botocore_models import DATA_DIR, SERVICES, trimmed_models, without_documentation  # noqa: E402

COMMITTED = {path.relative_to(DATA_DIR).as_posix(): path.read_bytes() for path in DATA_DIR.rglob("*") if path.is_file()}


def test_the_committed_models_are_the_pinned_botocore_models_trimmed() -> None:
    # Given the installed botocore (the version requirements-dev.txt pins)
    # When its models are trimmed again
    expected = trimmed_models()
    # Then the committed files are exactly those, no file more or less (else: python scripts/trim_botocore_models.py)
    assert sorted(COMMITTED) == sorted(expected)
    assert all(COMMITTED[name] == content for name, content in expected.items()), "stale: run the trim script"


def _client_services_in_code() -> set[str]:
    names = set()
    for path in ROOT.glob("services/*/imgplat_*/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in {"boto3.client", "client"}:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
    return names


def test_every_service_the_code_makes_a_client_of_has_a_trimmed_model() -> None:
    # Given every boto3 client the services make
    used = _client_services_in_code()
    # Then each has a trimmed model, and no model is kept for a service nobody calls
    assert used >= {"dynamodb", "s3"}, "the scan found no clients: is the code still there?"
    assert used == set(SERVICES)


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_a_trimmed_model_differs_from_botocores_only_by_its_documentation(name: str) -> None:
    # Given botocore's own model of the service, as botocore ships it
    original = json.loads(
        gzip.decompress((Path(botocore.loaders.Loader.BUILTIN_DATA_PATH) / f"{name}.gz").read_bytes())
    )
    trimmed = json.loads(COMMITTED[name])
    # Then the trimmed one has every operation and shape, no documentation text, and is the original without it
    assert trimmed["operations"].keys() == original["operations"].keys()
    assert trimmed["shapes"].keys() == original["shapes"].keys()
    assert not re.search(r'"documentation(Url)?":"[^"]', COMMITTED[name].decode())
    assert trimmed == without_documentation(original)
    # And at most half the original's size (what makes it cheaper to parse in a cold start)
    assert len(COMMITTED[name]) < len(json.dumps(original)) / 2


def test_without_documentation_empties_documentation_texts_at_any_depth_and_nothing_else() -> None:
    model = {
        "documentation": "top",
        "operations": {
            "Get": {"name": "Get", "documentation": "x", "documentationUrl": "u", "http": {"method": "GET"}}
        },
        "shapes": {
            "S": {"type": "list", "member": {"shape": "T", "documentation": "m"}, "enum": ["documentation"]},
            "documentation": {"type": "string"},  # a shape named so: not a text, kept
        },
    }
    assert without_documentation(model) == {
        "documentation": "",
        "operations": {"Get": {"name": "Get", "documentation": "", "documentationUrl": "", "http": {"method": "GET"}}},
        "shapes": {
            "S": {"type": "list", "member": {"shape": "T", "documentation": ""}, "enum": ["documentation"]},
            "documentation": {"type": "string"},
        },
    }


# In a fresh interpreter, as in a cold start: import a handlers package, then make clients and call moto with them.
CLIENT_CALLS = """
import json, boto3, imgplat_retrieval.handlers
from moto import mock_aws
with mock_aws():
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    item = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="k", Body=b"abc", ContentType="text/plain")
    body = s3.get_object(Bucket="bucket", Key="k")["Body"].read().decode()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "k"}, ExpiresIn=60)
    events = boto3.client("events").put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
    names = ("dynamodb/2012-08-10/service-2", "s3/2006-03-01/service-2", "s3/2006-03-01/endpoint-rule-set-1")
    paths = {name: loader.load_data_with_path(name)[1] for name in names}
print(json.dumps({"item": item, "body": body, "signed": "Signature=" in url,
                  "events_failed": events["FailedEntryCount"], "paths": paths}))
"""


def test_clients_made_after_a_handlers_package_is_imported_use_the_trimmed_models_and_work() -> None:
    # Given a fresh interpreter with the retrieval service and the shared library, no data path of its own
    env = {name: value for name, value in os.environ.items() if name != "AWS_DATA_PATH"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "libs" / "common" / "src"), str(ROOT / "services" / "retrieval")]),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    # When it imports a handlers package, then makes DynamoDB, S3 and EventBridge clients and calls them
    done = subprocess.run([sys.executable, "-c", CLIENT_CALLS], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Then the calls worked as with botocore's own models
    assert result["item"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert result["body"] == "abc"
    assert result["signed"] is True
    assert result["events_failed"] == 0
    # And the service models came from the trimmed copies, every other file from botocore as always
    paths = result["paths"]
    trimmed_dir = Path(botocore_models.DATA_DIR)
    assert Path(paths["dynamodb/2012-08-10/service-2"]).parent.parent.parent == trimmed_dir
    assert Path(paths["s3/2006-03-01/service-2"]).parent.parent.parent == trimmed_dir
    assert Path(paths["s3/2006-03-01/endpoint-rule-set-1"]).is_relative_to(botocore.loaders.Loader.BUILTIN_DATA_PATH)


def test_the_platforms_requests_are_the_same_with_the_trimmed_models() -> None:
    # Given one call of each kind the services make, built with botocore's own models and with the trimmed ones
    # Then every request (method, URL, body, headers but the signature's) and both pre-signed forms are the same
    assert compare_botocore_models.differences() == []


def test_the_comparison_finds_a_model_that_changes_a_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given trimmed models in which DynamoDB's JSON target prefix was changed
    changed = tmp_path / "botocore_data"
    shutil.copytree(DATA_DIR, changed)
    model = changed / "dynamodb" / "2012-08-10" / "service-2.json"
    model.write_text(model.read_text().replace('"targetPrefix":"DynamoDB_20120810"', '"targetPrefix":"Other"'))
    monkeypatch.setattr(compare_botocore_models, "DATA_DIR", changed)
    # When the requests are compared
    found = compare_botocore_models.differences()
    # Then the DynamoDB calls are named, and no other
    assert {difference.split(":")[0] for difference in found} == {
        "dynamodb.get_item",
        "dynamodb.query",
        "dynamodb.update_item",
    }


@pytest.mark.parametrize(
    ("already", "expected"),
    [
        (None, [botocore_models.DATA_DIR]),
        ("", [botocore_models.DATA_DIR]),
        ("/opt/models", [botocore_models.DATA_DIR, "/opt/models"]),
        (f"{botocore_models.DATA_DIR}{os.pathsep}/opt/models", [botocore_models.DATA_DIR, "/opt/models"]),  # not twice
    ],
)
def test_the_trimmed_models_go_first_on_botocores_search_path(
    already: str | None, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if already is None:
        monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    else:
        monkeypatch.setenv("AWS_DATA_PATH", already)
    botocore_models.use_trimmed_models()
    assert os.environ["AWS_DATA_PATH"].split(os.pathsep) == expected


@pytest.mark.parametrize("service", ["auth", "upload", "processing", "retrieval"])
def test_every_handlers_package_puts_the_trimmed_models_first(service: str) -> None:
    # Given a fresh interpreter with a service and the shared library, no data path of its own
    env = {name: value for name, value in os.environ.items() if name != "AWS_DATA_PATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "libs" / "common" / "src"), str(ROOT / "services" / service)])
    # When it imports the service's handlers package (as Lambda does before the handler module)
    code = f"import os, imgplat_{service}.handlers; print(os.environ['AWS_DATA_PATH'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # Then botocore's search path starts with the trimmed models
    assert done.stdout.strip().split(os.pathsep)[0] == botocore_models.DATA_DIR
