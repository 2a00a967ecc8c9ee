"""`imgplat`: the platform from a terminal or a script. Each command is thin: parse, call ImgplatClient, print.

Exit codes: 0 done; 1 the platform refused the request or an image ended REJECTED/FAILED; 2 wrong usage;
3 not signed in; 4 no such image; 5 the platform cannot be reached.
"""

from __future__ import annotations

import json
import mimetypes
import time
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import wraps
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from imgplat_cli.api_client import DEFAULT_API_URL, TERMINAL_STATUSES, ApiError, ImgplatClient, NotSignedIn, Unreachable
from imgplat_cli.token_cache import TokenCache

EXIT_REFUSED, EXIT_NOT_SIGNED_IN, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 1, 3, 4, 5
STATUS_STYLE = {"PENDING": "yellow", "PROCESSING": "cyan", "READY": "green", "REJECTED": "red", "FAILED": "red"}

app = typer.Typer(help="imgplat: upload, list, fetch and delete your images.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


class Size(StrEnum):
    THUMB = "thumb"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Format(StrEnum):
    JPEG = "jpeg"
    WEBP = "webp"


@dataclass
class Options:
    client: ImgplatClient
    json_output: bool

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        """JSON for scripts (--json), else the human rendering."""
        if self.json_output:
            out.print_json(json.dumps(data))
        else:
            human()


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@contextmanager
def _reported_errors() -> Iterator[None]:
    try:
        yield
    except NotSignedIn as error:
        _fail(error.message, EXIT_NOT_SIGNED_IN)
    except ApiError as error:
        exit_code = EXIT_NOT_FOUND if error.status == HTTPStatus.NOT_FOUND else EXIT_REFUSED
        _fail(f"{error.message} ({error.code}, HTTP {error.status})", exit_code)
    except Unreachable as error:
        _fail(str(error), EXIT_UNREACHABLE)


P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the client's exceptions into one clear line on stderr and the documented exit code."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with _reported_errors():
            return command(*args, **kwargs)
        raise AssertionError("unreachable")  # _reported_errors either returns or exits

    return run


@app.callback()
def main(
    ctx: typer.Context,
    api_url: Annotated[str, typer.Option(envvar="IMGPLAT_API_URL", help="The platform's API.")] = DEFAULT_API_URL,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
) -> None:
    ctx.obj = Options(ImgplatClient(api_url, TokenCache()), json_output)


EmailOption = Annotated[str, typer.Option(prompt=True, help="Your e-mail address.")]
PasswordOption = Annotated[
    str, typer.Option(prompt=True, hide_input=True, envvar="IMGPLAT_PASSWORD", help="Prompted when not given.")
]


@app.command()
@reports_errors
def signup(ctx: typer.Context, email: EmailOption, password: PasswordOption) -> None:
    """Create an account; a verification code is e-mailed (locally: any code works)."""
    options: Options = ctx.obj
    answer = options.client.sign_up(email, password)
    options.emit(answer, lambda: out.print(f"{answer['message']} Next: imgplat verify --email {email}"))


@app.command()
@reports_errors
def verify(
    ctx: typer.Context, email: EmailOption, code: Annotated[str, typer.Option(prompt=True, help="From the e-mail.")]
) -> None:
    """Confirm the e-mail address with the code that was sent."""
    options: Options = ctx.obj
    answer = options.client.verify(email, code)
    options.emit(answer, lambda: out.print(answer["message"]))


@app.command()
@reports_errors
def login(ctx: typer.Context, email: EmailOption, password: PasswordOption) -> None:
    """Sign in; the tokens are cached (0600) in your config dir and refreshed when they expire."""
    options: Options = ctx.obj
    session = options.client.sign_in(email, password)
    summary = {"email": session.email, "api_url": options.client.api_url, "expires_at": session.expires_at}
    options.emit(summary, lambda: out.print(f"Signed in as {email} on {options.client.api_url}."))


@app.command()
@reports_errors
def logout(ctx: typer.Context) -> None:
    """Revoke every token of your account and forget the session on this machine."""
    options: Options = ctx.obj
    options.client.sign_out()
    options.emit({"signed_out": True}, lambda: out.print("Signed out."))


@app.command()
@reports_errors
def status(ctx: typer.Context) -> None:
    """Which platform, who is signed in, whether the platform answers."""
    options: Options = ctx.obj
    session = options.client.session()
    images = options.client.list_images(limit=1)
    summary = {
        "api_url": options.client.api_url,
        "email": session.email,
        "tokens_valid_until": _timestamp(session.expires_at),
        "reachable": True,
        "has_images": bool(images["items"]),
    }
    options.emit(summary, lambda: out.print("\n".join(f"{key}: {value}" for key, value in summary.items())))


@app.command()
@reports_errors
def upload(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="Images to upload.")],
    wait: Annotated[bool, typer.Option(help="Follow processing until READY or REJECTED.")] = False,
) -> None:
    """Upload images (byte progress), then with --wait follow each one's processing live."""
    options: Options = ctx.obj
    uploaded = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=err, disable=options.json_output,
    ) as progress:  # fmt: skip
        for path in files:
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            ticket = options.client.create_upload(content_type, path.name, path.stat().st_size)
            task = progress.add_task(path.name, total=path.stat().st_size)
            options.client.put_original(ticket, path, lambda sent, task=task: progress.advance(task, sent))
            uploaded.append({"file": str(path), "image_id": ticket["image_id"], "status": ticket["status"]})
    if wait:
        uploaded = _follow_processing(options, uploaded)
    options.emit(uploaded, lambda: out.print(_uploads_table(uploaded)))
    if any(item["status"] in {"REJECTED", "FAILED"} for item in uploaded):
        raise typer.Exit(EXIT_REFUSED)


def _follow_processing(options: Options, uploaded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    live_console = Console(stderr=True, quiet=options.json_output)  # scripts (--json) get only the final JSON
    with Live(_uploads_table(uploaded), console=live_console, transient=True) as live:
        while any(item["status"] not in TERMINAL_STATUSES for item in uploaded):
            for item in uploaded:
                if item["status"] not in TERMINAL_STATUSES:
                    record = options.client.get_image(item["image_id"])
                    item["status"] = record["status"]
                    item["reason"] = record.get("reason") or record.get("error_id")
            live.update(_uploads_table(uploaded))
            time.sleep(0.5)
    return uploaded


def _uploads_table(uploaded: list[dict[str, Any]]) -> Table:
    table = Table("file", "image id", "status", "reason")
    for item in uploaded:
        style = STATUS_STYLE.get(item["status"], "")
        table.add_row(item["file"], item["image_id"], f"[{style}]{item['status']}[/]", item.get("reason") or "")
    return table


@app.command()
@reports_errors
def get(
    ctx: typer.Context,
    image_id: Annotated[str, typer.Argument(help="The image id (from upload or list).")],
    *,
    size: Annotated[Size | None, typer.Option(help="A rendition: its link, or with --output/--open the image.")] = None,
    image_format: Annotated[Format, typer.Option("--format", help="The rendition's encoding.")] = Format.JPEG,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the rendition to this file.")] = None,
    open_in_browser: Annotated[bool, typer.Option("--open", help="Open the rendition in a browser.")] = False,
) -> None:
    """An image's status and metadata, or one rendition (--size) as a link, a file (--output) or in a browser."""
    options: Options = ctx.obj
    if output and open_in_browser:
        _fail("Choose --output or --open, not both.", 2)
    if size is None and not (output or open_in_browser):
        record = options.client.get_image(image_id)
        options.emit(record, lambda: out.print(_describe(record)))
        return
    link = options.client.rendition_link(image_id, (size or Size.LARGE).value, image_format.value)
    if output:
        link["saved_to"], link["saved_bytes"] = str(output), options.client.download(link["url"], output)
        options.emit(link, lambda: out.print(f"Saved {link['width']}x{link['height']} {link['format']} to {output}."))
    elif open_in_browser:
        webbrowser.open(link["url"])
        options.emit(link, lambda: out.print(f"Opened {link['size']} in your browser."))
    else:
        options.emit(link, lambda: out.print(link["url"], soft_wrap=True))


def _describe(record: dict[str, Any]) -> str:
    lines = [f"{key}: {record[key]}" for key in ("image_id", "status", "filename", "created_at") if key in record]
    if record.get("reason"):
        lines.append(f"reason: {record['reason']}")
    metadata = record.get("metadata") or {}
    if metadata:
        lines.append(f"size: {metadata['width']}x{metadata['height']} {metadata['format']}, {metadata['bytes']} bytes")
    if record.get("renditions"):
        lines.append("renditions: " + ", ".join(record["renditions"]))
    return "\n".join(lines)


@app.command(name="list")
@reports_errors
def list_images(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Images per page.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Start at this page (printed after each page).")] = None,
    every_page: Annotated[bool, typer.Option("--all", help="Follow every page to the end.")] = False,
) -> None:
    """Your images, newest first, a page at a time."""
    options: Options = ctx.obj
    page = options.client.list_images(limit, cursor)
    items = list(page["items"])
    while every_page and page["next_cursor"]:
        page = options.client.list_images(limit, page["next_cursor"])
        items.extend(page["items"])
    result = {"items": items, "next_cursor": page["next_cursor"]}

    def human() -> None:
        table = Table("image id", "status", "file", "size", "created")
        for item in items:
            style = STATUS_STYLE.get(item["status"], "")
            dimensions = f"{item['width']}x{item['height']}" if item.get("width") else ""
            table.add_row(
                item["image_id"], f"[{style}]{item['status']}[/]", item.get("filename") or "", dimensions,
                item["created_at"],
            )  # fmt: skip
        out.print(table)
        if page["next_cursor"]:
            out.print(f"More: imgplat list --limit {limit} --cursor {page['next_cursor']}")

    options.emit(result, human)


@app.command()
@reports_errors
def delete(ctx: typer.Context, image_ids: Annotated[list[str], typer.Argument(help="Image ids to delete.")]) -> None:
    """Delete images: the original, every rendition and the record."""
    options: Options = ctx.obj
    for image_id in image_ids:
        options.client.delete_image(image_id)
    options.emit({"deleted": image_ids}, lambda: out.print(f"Deleted {len(image_ids)} image(s)."))


def _timestamp(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")
