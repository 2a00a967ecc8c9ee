"""The processing service's inner shape: AWS only in store.py, Pillow only in the image steps and images/."""

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
def test_only_the_store_talks_to_aws(module: Path):
    # Given any module of the service, when its imports are read, then boto3 and botocore appear in store.py alone
    if _name(module) != "store.py":
        assert not _imported_roots(module) & {"boto3", "botocore"}


@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_only_the_image_steps_and_the_image_code_import_pillow(module: Path):
    # Persist reads Pillow's version only (bookkeeping_steps.library_versions imports the bare package, no image code)
    may_import = _name(module) in {"image_steps.py", "bookkeeping_steps.py"} or _name(module).startswith("images/")
    if not may_import:
        assert "PIL" not in _imported_roots(module)


def test_the_logic_receives_its_store_instead_of_importing_it():
    logic = [path for path in MODULES if _name(path) not in {"store.py"} and not _name(path).startswith("handlers/")]
    importers = [_name(path) for path in logic if "imgplat_processing.store" in path.read_text()]
    assert importers == []
