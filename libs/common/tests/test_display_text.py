"""Text shown back to users (file names, EXIF camera fields): nothing that drives a terminal or reads other than
it is."""

from __future__ import annotations

import pytest
from imgplat_common.display_text import displayable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Été à Zürich 🌅.jpg", "Été à Zürich 🌅.jpg"),  # what people write stays
        ("a\x1b[31m\r\nb", "a [31m b"),  # an escape sequence and a line break: spaces, the words kept apart
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # a right-to-left override that would show "exe.jpg"
        ("Canon\x00\x00\x00", "Canon"),  # NUL padding of a fixed-size field
        ("a\u200bb\u2060c\ufeffd\u2066e\u2069", "abcde"),  # zero-width, word joiner, BOM, isolates
        ("a\u061cb\u180ec\U000e0041\U000e007fd", "abcd"),  # Arabic letter mark, Mongolian separator, tag characters
        ("10.00\u202fAM\u3000x\u00a0y", "10.00 AM x y"),  # narrow no-break, ideographic and no-break spaces
        ("one\u2028two\u2029three\x85four", "one two three four"),  # line and paragraph separators, C1 next line
        ("  many   spaces\t", "many spaces"),
        ("\x00\x07\x9b\u200e", None),  # nothing visible left
        ("", None),
    ],
)
def test_displayable_text(text: str, shown: str | None) -> None:
    assert displayable(text) == shown
