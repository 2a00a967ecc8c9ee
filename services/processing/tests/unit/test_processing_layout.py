"""Pillow only in the image steps and images/ (tests/test_service_layout.py checks the shape all services share)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "imgplat_processing"
MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_only_the_image_steps_and_the_image_code_import_pillow(module: Path):
    # Persist reads Pillow's version only (bookkeeping_steps.library_versions imports the bare package, no image code)
    may_import = _name(module) in {"image_steps.py", "bookkeeping_steps.py"} or _name(module).startswith("images/")
    if not may_import:
        assert "PIL" not in _imported_roots(module)
