"""Bytecode in the Lambda zips (docs/deploy.md: Bytecode in the zips): what the osls plugin adds and what CI checks.

The zips themselves are checked by scripts/package_services.py (`make package`); these tests keep the mechanism
wired into every service and its two halves (add, check) agreeing, without packaging anything.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

from local.serverless_files import serverless_config, service_dir, service_names
from scripts.lambda_bytecode import add_bytecode, bytecode_name, check_bytecode

RUNTIME = "python3.12"


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_every_service_runs_the_bytecode_plugin_after_the_requirements_are_injected():
    for name in service_names():
        if not serverless_config(name).get("functions"):
            continue  # nothing to compile: the delivery service is a CloudFront distribution
        plugins = serverless_config(name)["plugins"]
        assert "./osls-plugin-bytecode.js" in plugins, f"{name}: the bytecode plugin is not listed"
        assert plugins.index("./osls-plugin-bytecode.js") > plugins.index("serverless-python-requirements"), name
        assert (service_dir(name) / "osls-plugin-bytecode.js").is_file(), name


def test_every_module_gets_a_checked_hash_pyc_next_to_it(tmp_path):
    # Given a packaged zip with a top-level module, a package and a file that does not compile
    archive = _zip(
        tmp_path / "function.zip",
        {"top.py": b"X = 1\n", "pkg/__init__.py": b"", "pkg/mod.py": b"def f():\n    return 2\n", "bad.py": b"def (:"},
    )

    # When the plugin's step runs
    added = add_bytecode(archive, RUNTIME)

    # Then each compilable module has a checked-hash pyc in __pycache__ whose hash is its source's
    assert (added.sources, added.compiled, added.not_compilable) == (4, 3, ["bad.py"])
    with zipfile.ZipFile(archive) as content:
        pyc = content.read("pkg/__pycache__/mod.cpython-312.pyc")
        assert "__pycache__/top.cpython-312.pyc" in content.namelist()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b11
    assert pyc[8:16] == importlib.util.source_hash(b"def f():\n    return 2\n")
    assert check_bytecode(archive, RUNTIME).problems == []


def test_missing_stale_timestamp_and_orphan_bytecode_are_problems(tmp_path):
    # Given a zip whose bytecode was made for other sources, or the wrong way
    compiled = _zip(tmp_path / "compiled.zip", {"a.py": b"A = 1\n"})
    add_bytecode(compiled, RUNTIME)
    with zipfile.ZipFile(compiled) as content:
        stale_pyc = content.read(bytecode_name("a.py", "cpython-312"))
    timestamp_pyc = importlib.util.MAGIC_NUMBER + bytes(12) + b"code"
    archive = _zip(
        tmp_path / "broken.zip",
        {
            "a.py": b"A = 2\n",
            "__pycache__/a.cpython-312.pyc": stale_pyc,
            "b.py": b"B = 1\n",
            "c.py": b"C = 1\n",
            "__pycache__/c.cpython-312.pyc": timestamp_pyc,
            "__pycache__/gone.cpython-312.pyc": stale_pyc,
        },
    )

    # When CI checks it
    problems = check_bytecode(archive, RUNTIME).problems

    # Then every kind of bad bytecode is reported, and the plugin refuses to package around it
    assert [problem.split(":")[0] for problem in problems] == [
        "__pycache__/a.cpython-312.pyc",
        "b.py",
        "__pycache__/c.cpython-312.pyc",
        "__pycache__/gone.cpython-312.pyc",
    ]
    with pytest.raises(SystemExit, match="stale"):
        add_bytecode(archive, RUNTIME)


def test_a_damaged_zip_is_reported_not_a_crash_and_a_refused_add_leaves_the_zip_as_it_was(tmp_path):
    # Given a zip whose first entry was overwritten (as by two packagings writing one file at once)
    archive = _zip(tmp_path / "function.zip", {"a.py": b"A = 1\n", "b.py": b"B = 2\n"})
    data = bytearray(archive.read_bytes())
    data[0:4] = b"\0\0\0\0"
    archive.write_bytes(bytes(data))

    # When CI checks it, then it is one problem, said plainly
    (problem,) = check_bytecode(archive, RUNTIME).problems
    assert "damaged" in problem

    # And a zip the plugin refuses (a stale .pyc inside) is left byte for byte as it was, with no leftovers
    stale = _zip(tmp_path / "stale.zip", {"a.py": b"A = 1\n", "__pycache__/a.cpython-312.pyc": b"not bytecode"})
    before = stale.read_bytes()
    with pytest.raises(SystemExit):
        add_bytecode(stale, RUNTIME)
    assert stale.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["function.zip", "stale.zip"]
