"""The README's curl flow, run exactly as written against the local platform, so the docs cannot drift."""

from __future__ import annotations

import io
import os
import re
import subprocess

import pytest
from PIL import Image

from local.serverless_files import ROOT

pytestmark = pytest.mark.e2e
MARKER = "<!-- curl-flow:"


def readme_curl_flow() -> str:
    """The bash block that follows the curl-flow marker in README.md."""
    readme = (ROOT / "README.md").read_text()
    after_marker = readme[readme.index(MARKER) :]
    match = re.search(r"```bash\n(.*?)```", after_marker, re.S)
    assert match, "README.md has no bash block after the curl-flow marker"
    return match.group(1)


def test_the_readme_curl_flow_works_against_the_local_platform(local_platform, tmp_path):
    photo = io.BytesIO()
    Image.new("RGB", (1600, 1200), (40, 90, 140)).save(photo, "JPEG", quality=90)
    (tmp_path / "holiday.jpg").write_bytes(photo.getvalue())

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_curl_flow()],
        cwd=tmp_path,
        env=dict(os.environ, IMGPLAT_API_URL=local_platform.api_url),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert '"status":"READY"' in result.stdout
    assert result.stdout.rstrip().endswith("204")
    medium = Image.open(tmp_path / "medium.jpg")
    assert medium.format == "JPEG" and medium.size == (800, 600)


def test_the_readme_flow_is_the_one_documented_commands_use():
    flow = readme_curl_flow()
    for route in ("/auth/signup", "/auth/verify", "/auth/signin", "/upload", "/image/", "/images"):
        assert route in flow
