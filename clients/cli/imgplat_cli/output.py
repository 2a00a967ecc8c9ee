"""How every command speaks: data on stdout (a table, lines or --json), errors on stderr, documented exit codes.

Exit codes: 0 done; 1 something failed (the platform refused a request, a file or id in a batch failed, an image
ended REJECTED/FAILED, no browser opened); 2 wrong usage; 3 not signed in; 4 no such image; 5 the platform cannot
be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from http import HTTPStatus
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from imgplat_cli.api_client import ApiError, ImgplatClient, NotSignedIn, Unreachable

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_SIGNED_IN, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 1, 2, 3, 4, 5

out = Console()
err = Console(stderr=True)

# Every command takes --json too, so it works before the command (global) or after it.
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout (errors: JSON on stderr).")]


@dataclass
class Options:
    client: ImgplatClient
    json_output: bool

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        """JSON for scripts (--json), else the human rendering."""
        if self.json_output:
            print_json(data)
        else:
            human()


def options_of(ctx: typer.Context, json_output: bool) -> Options:
    """The command's options; a command's own --json switches JSON on as the global one does."""
    options: Options = ctx.obj
    options.json_output = options.json_output or json_output
    return options


def print_json(data: Any, console: Console = out) -> None:
    console.print_json(json.dumps(data))


def error_summary(error: ApiError) -> dict[str, Any]:
    """The platform's error body as the CLI reports it (code, message, HTTP status and any details)."""
    return {"code": error.code, "message": error.message, "status": error.status} | error.details


def describe_error(error: ApiError) -> str:
    """One line, plus one line per invalid field when the platform named them."""
    lines = [f"{error.message} ({error.code}, HTTP {error.status})"]
    for problem in error.details.get("fields") or []:
        lines.append(f"  {problem.get('field', '?')}: {problem.get('problem', '')}")
    return "\n".join(lines)


def fail(message: str, code: int, summary: dict[str, Any] | None = None, *, json_mode: bool = False) -> NoReturn:
    """Report an error on stderr (JSON in --json mode) and exit with `code`."""
    if json_mode:
        print_json({"error": summary or {"message": message}}, err)
    else:
        err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _reported_errors(options: Options | None) -> Iterator[None]:
    try:
        yield
    except (ApiError, Unreachable) as error:
        # Read after the command ran: its own --json may have switched JSON on.
        json_mode = options is not None and options.json_output
        fail(*_report_of(error), json_mode=json_mode)


def _report_of(error: ApiError | Unreachable) -> tuple[str, int, dict[str, Any]]:
    """The message, exit code and JSON summary of an error of the client."""
    if isinstance(error, Unreachable):
        return str(error), EXIT_UNREACHABLE, {"code": "unreachable", "message": str(error)}
    if isinstance(error, NotSignedIn):
        return error.message, EXIT_NOT_SIGNED_IN, error_summary(error)
    return (
        describe_error(error),
        EXIT_NOT_FOUND if error.status == HTTPStatus.NOT_FOUND else EXIT_FAILED,
        error_summary(error),
    )


P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the client's exceptions into a clear report on stderr and the documented exit code."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        # The command's context (typer passes its own, vendored click's) holds the Options.
        candidates = (getattr(value, "obj", None) for value in (*args, *kwargs.values()))
        found = [candidate for candidate in candidates if isinstance(candidate, Options)]
        with _reported_errors(found[0] if found else None):
            return command(*args, **kwargs)
        raise AssertionError("unreachable")  # _reported_errors either returns or exits

    return run
