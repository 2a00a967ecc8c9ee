"""libs/common: key layout, status rules, record round trip, claims and the shared error mapping."""

import json
from decimal import Decimal

import pytest
from imgplat_common.api import MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH, build_api
from imgplat_common.auth_claims import caller_from_event
from imgplat_common.errors import NotFound, Unauthorized
from imgplat_common.keys import (
    InvalidKeyError,
    new_image_id,
    original_key,
    parse_original_key,
    rendition_key,
    rendition_prefix,
)
from imgplat_common.models import ImageRecord, utc_now_iso
from imgplat_common.status import ImageStatus, can_transition, statuses_allowed_before
from pydantic import BaseModel

from local.lambda_runtime import LambdaContext

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"


def test_image_ids_are_unique_and_sort_by_creation_time():
    earlier, later = new_image_id(now_ms=1_000), new_image_id(now_ms=2_000)
    assert earlier < later
    assert len({new_image_id() for _ in range(1000)}) == 1000


def test_original_key_round_trips_and_refuses_foreign_keys():
    image_id = new_image_id()
    key = original_key(OWNER, image_id)
    assert key == f"originals/{OWNER}/{image_id}"
    parsed = parse_original_key(key)
    assert (parsed.owner, parsed.image_id) == (OWNER, image_id)
    foreign = ["renditions/x/y", f"originals/{OWNER}/../etc", f"originals/{OWNER}/{image_id}/x", "originals/a b/c"]
    for bad in foreign:
        with pytest.raises(InvalidKeyError):
            parse_original_key(bad)


def test_client_text_can_never_become_part_of_a_key():
    with pytest.raises(InvalidKeyError):
        original_key("../other-user", new_image_id())
    with pytest.raises(InvalidKeyError):
        original_key(OWNER, "holiday photo.jpg")


def test_rendition_keys_are_immutable_per_content_and_under_the_image_prefix():
    image_id = new_image_id()
    a = rendition_key(OWNER, image_id, "a" * 64, "medium", "jpeg")
    b = rendition_key(OWNER, image_id, "b" * 64, "medium", "jpeg")
    assert a != b
    assert a.startswith(rendition_prefix(OWNER, image_id)) and a.endswith("/medium.jpg")
    assert rendition_key(OWNER, image_id, "a" * 64, "medium", "webp").endswith("/medium.webp")


def test_status_only_moves_forward():
    assert can_transition(ImageStatus.PENDING, ImageStatus.PROCESSING)
    assert can_transition(ImageStatus.PROCESSING, ImageStatus.READY)
    assert not can_transition(ImageStatus.READY, ImageStatus.PROCESSING)
    assert not can_transition(ImageStatus.REJECTED, ImageStatus.READY)
    assert set(statuses_allowed_before(ImageStatus.READY)) == {ImageStatus.PROCESSING}
    assert all(s.is_terminal for s in (ImageStatus.READY, ImageStatus.REJECTED, ImageStatus.FAILED))


def test_record_survives_a_dynamodb_round_trip():
    now = utc_now_iso()
    record = ImageRecord(
        owner=OWNER,
        image_id=new_image_id(),
        status=ImageStatus.PENDING,
        created_at=now,
        updated_at=now,
        original_key="originals/x/y",
        content_type="image/jpeg",
        declared_size=1234,
    )
    item = record.to_item()
    assert "reason" not in item and item["status"] == "PENDING"
    stored = {k: Decimal(v) if isinstance(v, int) else v for k, v in item.items()}
    assert ImageRecord.from_item(stored) == record


def test_caller_comes_from_authorizer_claims_only():
    event = {"requestContext": {"authorizer": {"claims": {"sub": OWNER, "email": "a@example.com"}}}}
    assert caller_from_event(event).sub == OWNER
    with pytest.raises(Unauthorized):
        caller_from_event({"requestContext": {}, "headers": {"x-sub": OWNER}})


def _event(path: str, body: str | None, method: str = "POST") -> dict:
    return {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "body": body,
        "headers": {"Origin": "https://app.example.com"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"requestId": "r1", "stage": "dev"},
        "isBase64Encoded": False,
    }


class _Greeting(BaseModel):
    name: str
    password: str


@pytest.fixture
def api():
    app = build_api("https://app.example.com")

    @app.post("/hello")
    def hello(body: _Greeting) -> dict:
        return {"hello": body.name}

    @app.get("/missing")
    def missing() -> dict:
        raise NotFound("No such image.")

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("database password is hunter2")

    return app


def test_shared_api_maps_errors_to_json_without_leaking(api):
    ok = api.resolve(_event("/hello", json.dumps({"name": "x", "password": "p"})), LambdaContext())
    assert ok["statusCode"] == 200 and json.loads(ok["body"]) == {"hello": "x"}

    invalid = api.resolve(_event("/hello", json.dumps({"password": "secret-pw"})), LambdaContext())
    assert invalid["statusCode"] == 400
    assert "secret-pw" not in invalid["body"]
    assert json.loads(invalid["body"])["error"]["fields"][0]["field"] == "name"

    assert api.resolve(_event("/hello", "{not json"), LambdaContext())["statusCode"] == 400
    huge = api.resolve(_event("/hello", "x" * (MAX_JSON_BODY_BYTES + 1)), LambdaContext())
    assert huge["statusCode"] == 413 and json.loads(huge["body"])["error"]["code"] == "body_too_large"

    missing = api.resolve(_event("/missing", None, "GET"), LambdaContext())
    assert missing["statusCode"] == 404 and json.loads(missing["body"])["error"]["code"] == "not_found"

    boom = api.resolve(_event("/boom", None, "GET"), LambdaContext())
    body = json.loads(boom["body"])
    assert boom["statusCode"] == 500 and "hunter2" not in boom["body"] and "Traceback" not in boom["body"]
    assert len(body["error"]["error_id"]) == 32


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2_000, 8_000])
def test_deeply_nested_body_is_400_before_parsing(api, depth):
    # Given a body nested deeper than any request of ours (small enough to pass the size limit up to 8,000 levels)
    body = '{"name": ' + "[" * depth + "]" * depth + ', "password": "p"}'
    # When it is posted
    answer = api.resolve(_event("/hello", body), LambdaContext())
    # Then it is the client's error, named, never a RecursionError's 500
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"] == {
        "code": "body_too_deep",
        "message": f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.",
        "max_depth": MAX_JSON_DEPTH,
    }


def test_oversized_nested_body_is_413_not_500(api):
    # Given an 18 kB body nested 9,000 deep (over both limits): the size is checked first, before any parsing
    body = "[" * 9_000 + "]" * 9_000
    answer = api.resolve(_event("/hello", body), LambdaContext())
    assert answer["statusCode"] == 413
    assert json.loads(answer["body"])["error"]["max_bytes"] == MAX_JSON_BODY_BYTES


def test_brackets_inside_strings_do_not_count_as_nesting(api):
    # Given a name made of brackets and escaped quotes, far more than the depth limit
    name = "[{" * MAX_JSON_DEPTH * 2 + '\\"]'
    body = json.dumps({"name": name, "password": "p"})
    # Then it is an ordinary, valid body
    answer = api.resolve(_event("/hello", body), LambdaContext())
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"hello": name}


def test_cors_headers_follow_the_configured_origin(api):
    answer = api.resolve(_event("/hello", json.dumps({"name": "x", "password": "p"})), LambdaContext())
    assert answer["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["https://app.example.com"]


def test_a_body_that_is_not_declared_json_is_415_not_a_server_error(api):
    # text/plain, a multipart type without its boundary, and what `curl -d` declares when no Content-Type is given
    for content_type in ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded"):
        # Given a JSON body sent with another content type
        event = _event("/hello", json.dumps({"name": "x", "password": "p"}))
        event["headers"]["Content-Type"] = content_type
        # When the API resolves it
        answer = api.resolve(event, LambdaContext())
        # Then the caller is told to send JSON
        assert answer["statusCode"] == 415, content_type
        assert json.loads(answer["body"])["error"]["code"] == "unsupported_media_type"


MULTIPART_BOUNDARY = "b0undary"
WELL_FORMED_BODIES = {
    # The route's fields as a browser's cross-site form sends them: Powertools would read both into valid fields
    f"multipart/form-data; boundary={MULTIPART_BOUNDARY}": "".join(
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("name", "x"), ("password", "p"))
    )
    + f"--{MULTIPART_BOUNDARY}--\r\n",
    "application/x-www-form-urlencoded": "name=x&password=p",
    # A lookalike of the JSON type is not it
    "application/jsonp": json.dumps({"name": "x", "password": "p"}),
}


@pytest.mark.parametrize("content_type", sorted(WELL_FORMED_BODIES))
def test_a_form_whose_fields_would_validate_is_still_415(api, content_type):
    # Given the route's fields sent as a form (no CORS preflight guards these types) or with a lookalike type
    event = _event("/hello", WELL_FORMED_BODIES[content_type])
    event["headers"]["Content-Type"] = content_type
    # When the API resolves it
    answer = api.resolve(event, LambdaContext())
    # Then the route never runs: only JSON reaches it
    assert answer["statusCode"] == 415
    assert json.loads(answer["body"])["error"]["code"] == "unsupported_media_type"


def test_json_with_a_charset_parameter_is_json(api):
    event = _event("/hello", json.dumps({"name": "x", "password": "p"}))
    event["headers"]["Content-Type"] = "application/json; charset=utf-8"
    assert api.resolve(event, LambdaContext())["statusCode"] == 200


@pytest.mark.parametrize("body", ["{'name': 'x'}", '{"name": ', "name=x"])
def test_a_body_that_is_not_json_names_the_body_not_a_character_position(api, body):
    # Given a body declared JSON that does not parse (Python quotes, cut short, a form)
    # When it is posted
    answer = api.resolve(_event("/hello", body), LambdaContext())
    # Then the one problem is the body's, said in words, with the parser's reason and never the input itself
    assert answer["statusCode"] == 400
    (problem,) = json.loads(answer["body"])["error"]["fields"]
    assert problem["field"] == "body"
    assert problem["problem"].startswith("Not valid JSON: ")
    assert body not in problem["problem"]


def test_a_number_of_thousands_of_digits_is_a_400_not_a_server_error(api):
    # Given a body whose one number is longer than Python converts (its limit against CPU exhaustion: 4,300 digits)
    body = '{"name": "x", "password": "p", "n": ' + "9" * 5000 + "}"
    # When it is posted
    answer = api.resolve(_event("/hello", body), LambdaContext())
    # Then it is the client's error, said as for any invalid body, and no 500 (whose alarm anyone could ring)
    assert answer["statusCode"] == 400
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "invalid_request" and error["fields"][0]["field"] == "body"
