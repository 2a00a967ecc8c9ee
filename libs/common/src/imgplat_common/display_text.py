"""Text a user supplied that the platform shows back (an upload's file name, a photo's EXIF camera): what of it may
reach a terminal or a page. Upload and processing store such text; the CLI, the web client and other teams show it."""

from __future__ import annotations

import re

# Invisible, and able to make text read other than it is (U+202E shows "invoice<U+202E>gpj.exe" as "invoiceexe.jpg"):
# NUL (pads fixed-size EXIF fields), zero-width characters, bidirectional marks (with the Arabic letter mark),
# embeddings, overrides and isolates, word joiners, the Mongolian vowel separator, the byte order mark, and the tag
# characters (invisible letters). Dropped.
_INVISIBLE = re.compile("[\x00\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]")
# C0 and C1 controls (a terminal's escape sequences, line breaks) and the line and paragraph separators: each
# becomes a space, so the words on either side stay apart.
_CONTROLS = re.compile("[\x01-\x1f\x7f-\x9f\u2028\u2029]")


def displayable(text: str) -> str | None:
    """`text` without invisible characters, each control as a space, each run of white space (any Unicode space, a
    no-break one too) as one plain space, trimmed; None when nothing is left."""
    spaced = _CONTROLS.sub(" ", _INVISIBLE.sub("", text))
    return " ".join(spaced.split()) or None
