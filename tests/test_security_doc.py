"""docs/security.md maps each threat and fault to the tests that prove it: every test it names must exist."""

from __future__ import annotations

import re

from local.serverless_files import ROOT

PROCESSING_TESTS = ROOT / "services" / "processing" / "tests"
REFERENCE = re.compile(r"`([\w/.]+\.py)?(?:::)?(test_\w+)?`")


def test_every_test_the_security_doc_names_exists():
    text = (ROOT / "docs" / "security.md").read_text()
    current = None
    named = 0
    for path, test in REFERENCE.findall(text):
        if path:
            candidates = [ROOT / path, PROCESSING_TESTS / path]
            current = next((candidate for candidate in candidates if candidate.exists()), None)
            assert current is not None, f"docs/security.md names {path}, which does not exist"
        if test:
            # A bare test name belongs to the file named last, or (in the reconciler section) to the processing tests.
            files = (
                [current] if current and f"def {test}(" in current.read_text() else list(PROCESSING_TESTS.rglob("*.py"))
            )
            assert any(f"def {test}(" in file.read_text() for file in files if file), f"no test named {test}"
            named += 1
    assert named >= 40
