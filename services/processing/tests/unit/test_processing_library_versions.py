"""The library versions Persist stores with each image, so that its renditions can be traced and redone."""

from __future__ import annotations

import platform

import PIL
from imgplat_processing.bookkeeping_steps import library_versions


def test_library_versions_name_pillow_and_python():
    assert library_versions() == {"pillow": PIL.__version__, "python": platform.python_version()}
    assert PIL.__version__ == "13.0.0"
