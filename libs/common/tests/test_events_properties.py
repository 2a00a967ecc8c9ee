"""Property-based tests of the ingest queue's message model: any JSON either parses or is refused cleanly."""

import json

from hypothesis import given
from hypothesis import strategies as st
from imgplat_common.events import S3Notification
from pydantic import ValidationError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
object_infos = st.fixed_dictionaries(
    {"key": st.text(min_size=1, max_size=60)},
    optional={
        "size": st.integers(min_value=0, max_value=2**40),
        "eTag": st.text(max_size=40),
        "versionId": st.text(max_size=40),
        "sequencer": st.text(max_size=20),
        "extra": json_values,
    },
)
buckets = st.fixed_dictionaries({"name": st.text(max_size=63)})
records = st.fixed_dictionaries(
    {"s3": st.fixed_dictionaries({"bucket": buckets, "object": object_infos})},
    optional={"eventName": st.text(max_size=30), "awsRegion": st.text(max_size=15)},
)


@given(json_values)
def test_any_json_message_parses_or_is_refused_with_a_validation_error(value):
    try:
        notification = S3Notification.model_validate_json(json.dumps(value))
    except ValidationError:
        return
    # What parses is a mapping whose records (if any) each carry a bucket name and a key.
    assert isinstance(value, dict)
    assert all(isinstance(record.s3.object.key, str) for record in notification.records)


@given(st.lists(records, max_size=5))
def test_every_record_s3_sends_keeps_its_bucket_key_version_and_etag(raw_records):
    notification = S3Notification.model_validate_json(json.dumps({"Records": raw_records}))
    assert len(notification.records) == len(raw_records)
    for parsed, raw in zip(notification.records, raw_records, strict=True):
        assert parsed.s3.bucket.name == raw["s3"]["bucket"]["name"]
        assert parsed.s3.object.key == raw["s3"]["object"]["key"]
        assert parsed.s3.object.version_id == raw["s3"]["object"].get("versionId")
        assert parsed.s3.object.e_tag == raw["s3"]["object"].get("eTag")
        assert parsed.event_name == raw.get("eventName", "")
