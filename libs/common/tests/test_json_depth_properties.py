"""json_nesting_depth agrees with the real structure of every JSON document, whatever its strings hold."""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from imgplat_common.api import json_nesting_depth

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


@given(JSON_VALUES, st.booleans())
def test_depth_of_the_text_is_the_depth_of_the_value(value, ascii_only):
    # Strings full of brackets, quotes and backslashes (escaped by the encoder) must never change the count.
    assert json_nesting_depth(json.dumps(value, ensure_ascii=ascii_only)) == _depth(value)
