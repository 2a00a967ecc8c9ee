"""Compiled bytecode in the Lambda zips: add it after packaging, check it before deploying.

    python scripts/lambda_bytecode.py add --runtime python3.12 ZIP [ZIP ...]    (run by osls-plugin-bytecode.js)
    python scripts/lambda_bytecode.py check --runtime python3.12 ZIP [ZIP ...]  (run by package_services.py)

Why: /var/task is read-only in Lambda, so a zip without bytecode makes every cold start compile each imported module
(pydantic, Powertools, imgplat_common, ...) from source, in memory, again and again. The .pyc written here are
checked-hash (PEP 552): valid whatever the zip's timestamps (the packaging stamps every entry with the packaging time,
which invalidates timestamp .pyc), and verified against their source at import, so a .py ever shipped without its
matching .pyc is compiled from source rather than run stale. They go next to their sources
(`pkg/__pycache__/mod.cpython-312.pyc`), where the import system looks first.
"""

from __future__ import annotations

import argparse
import importlib.util
import marshal
import os
import re
import shutil
import sys
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# PEP 552 flags word: bit 0 = hash-based, bit 1 = check the source hash at import.
HASH_BASED = 0b01
CHECK_SOURCE = 0b10


def cache_tag(runtime: str) -> str:
    """`python3.12` (a Lambda runtime) -> `cpython-312` (the tag in the .pyc file names)."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    if not match:
        raise SystemExit(f"not a Lambda Python runtime: {runtime!r}")
    return f"cpython-{match[1]}{match[2]}"


def require_runtime_interpreter(runtime: str) -> None:
    """Bytecode is only valid for the interpreter version that wrote it: refuse to run under another one."""
    if sys.implementation.cache_tag != cache_tag(runtime):
        raise SystemExit(
            f"bytecode for {runtime} must be written and checked by {runtime}, not by {sys.executable} "
            f"({sys.implementation.cache_tag}): set pythonBin (PYTHON_BIN) to a {runtime} interpreter"
        )


def bytecode_name(source_name: str, tag: str) -> str:
    """Where the import system looks for a module's bytecode: `a/b.py` -> `a/__pycache__/b.<tag>.pyc`."""
    source = PurePosixPath(source_name)
    return str(source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").removeprefix("./")


def checked_hash_pyc(source: bytes, filename: str) -> bytes | None:
    """The checked-hash .pyc of one module, or None when the source does not compile (never importable anyway)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # third-party SyntaxWarnings (invalid escapes) are not ours to report
            code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None
    flags = (HASH_BASED | CHECK_SOURCE).to_bytes(4, "little")
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


@dataclass
class BytecodeReport:
    """What one zip holds: sources, sources with valid bytecode, sources that do not compile, problems."""

    sources: int = 0
    compiled: int = 0
    not_compilable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def pyc_problem(pyc: bytes, source: bytes) -> str | None:
    """Why a .pyc would not be used for this source in Lambda (None: it would)."""
    if pyc[:4] != importlib.util.MAGIC_NUMBER:
        return "written by another Python version"
    flags = int.from_bytes(pyc[4:8], "little")
    if not flags & HASH_BASED:
        return "timestamp-based (the zip's timestamps never match it)"
    if pyc[8:16] != importlib.util.source_hash(source):
        return "stale (its source hash does not match the shipped .py)"
    return None


def check_bytecode(archive: Path, runtime: str) -> BytecodeReport:
    """Every .py in the zip has a hash-based .pyc matching its source; every .pyc belongs to a shipped .py."""
    require_runtime_interpreter(runtime)
    report = BytecodeReport()
    try:
        _check_entries(archive, cache_tag(runtime), report)
    except (zipfile.BadZipFile, zlib.error, EOFError) as damage:
        report.problems.append(f"the zip is damaged ({damage}): package the service again")
    return report


def _check_entries(archive: Path, tag: str, report: BytecodeReport) -> None:
    with zipfile.ZipFile(archive) as content:
        names = set(content.namelist())
        sources = sorted(name for name in names if name.endswith(".py"))
        expected = {bytecode_name(name, tag): name for name in sources}
        report.sources = len(sources)
        for pyc_name, source_name in expected.items():
            source = content.read(source_name)
            if pyc_name not in names:
                if checked_hash_pyc(source, source_name) is None:
                    report.not_compilable.append(source_name)
                else:
                    report.problems.append(f"{source_name}: no {pyc_name}")
                continue
            problem = pyc_problem(content.read(pyc_name), source)
            if problem:
                report.problems.append(f"{pyc_name}: {problem}")
            else:
                report.compiled += 1
        report.problems += [
            f"{name}: bytecode without a shipped source (or for another Python)"
            for name in sorted(names)
            if name.endswith((".pyc", ".pyo")) and name not in expected
        ]


def add_bytecode(archive: Path, runtime: str) -> BytecodeReport:
    """Append a checked-hash .pyc for every .py of the zip that has none; fail on a .pyc already there and wrong.

    The zip is written as a copy that replaces the original only once complete and readable, so an interrupted or
    concurrent packaging never leaves a half-written artifact to deploy.
    """
    require_runtime_interpreter(runtime)
    report = BytecodeReport()
    with tempfile.TemporaryDirectory(dir=archive.parent) as scratch:
        copy = Path(scratch) / archive.name
        shutil.copyfile(archive, copy)
        _append_bytecode(copy, cache_tag(runtime), report)
        with zipfile.ZipFile(copy) as written:
            damaged = written.testzip()
        if damaged is not None:
            raise SystemExit(f"{archive}: {damaged} did not read back after adding bytecode")
        os.replace(copy, archive)
    return report


def _append_bytecode(archive: Path, tag: str, report: BytecodeReport) -> None:
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as content:
        entries = {entry.filename: entry for entry in content.infolist()}
        for source_entry in [entry for name, entry in sorted(entries.items()) if name.endswith(".py")]:
            report.sources += 1
            source = content.read(source_entry)
            pyc_name = bytecode_name(source_entry.filename, tag)
            if pyc_name in entries:
                problem = pyc_problem(content.read(pyc_name), source)
                if problem:
                    raise SystemExit(f"{archive}: {pyc_name} is {problem}: it must not be packaged")
                report.compiled += 1
                continue
            pyc = checked_hash_pyc(source, source_entry.filename)
            if pyc is None:
                report.not_compilable.append(source_entry.filename)
                continue
            # Same date and permissions as the source: Lambda needs the files world-readable.
            pyc_entry = zipfile.ZipInfo(pyc_name, date_time=source_entry.date_time)
            pyc_entry.external_attr = source_entry.external_attr
            pyc_entry.create_system = source_entry.create_system
            pyc_entry.compress_type = zipfile.ZIP_DEFLATED
            content.writestr(pyc_entry, pyc)
            report.compiled += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["add", "check"])
    parser.add_argument("--runtime", required=True, help="the functions' Lambda runtime, e.g. python3.12")
    parser.add_argument("zips", nargs="+", type=Path)
    args = parser.parse_args()
    failed = False
    for archive in args.zips:
        report = (add_bytecode if args.action == "add" else check_bytecode)(archive, args.runtime)
        print(
            f"{archive.name}: {report.compiled} of {report.sources} modules have checked-hash bytecode"
            f" ({len(report.not_compilable)} do not compile, so are not importable anyway)"
        )
        for problem in report.problems:
            print(f"PROBLEM: {archive}: {problem}")
        failed = failed or bool(report.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
