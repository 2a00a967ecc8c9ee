"""The image commands: upload (files or folders, one outcome per file), get, list, delete (one outcome per id)."""

from __future__ import annotations

import time
import webbrowser
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from imgplat_cli.api_client import TERMINAL_STATUSES, ApiError, NotSignedIn, Unreachable
from imgplat_cli.file_types import content_type_of, is_image_file
from imgplat_cli.output import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    JsonOption,
    Options,
    describe_error,
    err,
    error_summary,
    fail,
    options_of,
    out,
    reports_errors,
)
from imgplat_cli.tables import Field, print_table

# A file refused before it was sent has no image, so no status of the platform's (FAILED means the platform failed).
NOT_SENT = "NOT SENT"
STATUS_STYLE = {
    "PENDING": "yellow",
    "PROCESSING": "cyan",
    "READY": "green",
    "REJECTED": "red",
    "FAILED": "red",
    NOT_SENT: "red",
}
UNSUCCESSFUL_STATUSES = {"REJECTED", "FAILED"}
POLL_INTERVAL_SECONDS = 0.5


class Size(StrEnum):
    THUMB = "thumb"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Format(StrEnum):
    # The API's choice among the formats the rendition has: JPEG unless the deployment writes none (renditionFormats).
    AUTO = "auto"
    JPEG = "jpeg"
    WEBP = "webp"
    # Only some sizes have AVIF (processing's avifRenditions); for the others the API answers 400 naming their formats.
    AVIF = "avif"


def timestamp(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


def _styled(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def _failure(error: Exception) -> dict[str, Any]:
    if isinstance(error, ApiError):
        return error_summary(error)
    return {"code": "unreachable" if isinstance(error, Unreachable) else "unreadable", "message": str(error)}


def _failure_text(error: Exception) -> str:
    return describe_error(error) if isinstance(error, ApiError) else str(error)


# --- upload -------------------------------------------------------------------------------------------------------
def files_to_upload(arguments: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the image files directly in it, by name."""
    chosen: list[Path] = []
    for argument in arguments:
        if argument.is_dir():
            chosen.extend(sorted(path for path in argument.iterdir() if is_image_file(path)))
        else:
            chosen.append(argument)
    return chosen


def _upload_one(options: Options, path: Path, progress: Progress) -> dict[str, Any]:
    """One file's outcome: its image id and status, or its error. Only NotSignedIn stops the batch."""
    outcome: dict[str, Any] = {"file": str(path)}
    try:
        size = path.stat().st_size
        ticket = options.client.create_upload(content_type_of(path), path.name, size)
        task = progress.add_task(path.name, total=size)
        options.client.put_original(ticket, path, lambda sent: progress.advance(task, sent))
    except NotSignedIn:
        raise
    except (ApiError, Unreachable, OSError) as error:
        outcome["error"] = _failure(error)
        if not options.json_output:
            err.print(f"[red]failed:[/red] {path}: {_failure_text(error)}", highlight=False, soft_wrap=True)
        return outcome
    outcome |= {"image_id": ticket["image_id"], "status": ticket["status"]}
    if not options.json_output:  # printed as soon as it exists, so a later failure never hides it
        out.print(f"uploaded {path}  {ticket['image_id']}", highlight=False, soft_wrap=True)
    return outcome


@reports_errors
def upload(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, readable=True, metavar="FILE_OR_FOLDER", help="Image files, or folders of images."),
    ],
    wait: Annotated[bool, typer.Option(help="Follow processing until READY or REJECTED.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Upload images (byte progress), one outcome line per file; with --wait follow each one's processing live.

    Exit 1 when any file failed or any image ended REJECTED/FAILED; the other files are uploaded all the same.
    """
    options = options_of(ctx, json_output)
    files = files_to_upload(paths)
    if not files:
        fail("No image files to upload in " + ", ".join(map(str, paths)), EXIT_USAGE, json_mode=options.json_output)
    options.client.session()  # not signed in: say so once, before any file
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=err, disable=options.json_output, transient=True,
    ) as progress:  # fmt: skip
        outcomes = [_upload_one(options, path, progress) for path in files]
    if wait:
        _follow_processing(options, outcomes)
    if options.json_output or wait:
        options.emit(outcomes, lambda: _print_outcomes(outcomes))
    if any("error" in item or item.get("status") in UNSUCCESSFUL_STATUSES for item in outcomes):
        raise typer.Exit(EXIT_FAILED)


def _processing(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in outcomes if "image_id" in item and item["status"] not in TERMINAL_STATUSES]


def _follow_processing(options: Options, outcomes: list[dict[str, Any]]) -> None:
    live_console = Console(stderr=True, quiet=options.json_output)  # scripts (--json) get only the final JSON
    with Live(_outcome_rows_table(outcomes), console=live_console, transient=True) as live:
        while pending := _processing(outcomes):
            for item in pending:
                record = options.client.get_image(item["image_id"])
                item["status"] = record["status"]
                item["reason"] = record.get("reason") or record.get("error_id")
            live.update(_outcome_rows_table(outcomes))
            time.sleep(POLL_INTERVAL_SECONDS)


UPLOAD_FIELDS = [Field("file"), Field("image id", key=True), Field("status", key=True), Field("reason")]


def _outcome_rows(outcomes: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for item in outcomes:
        if "error" in item:
            rows.append([item["file"], "", _styled(NOT_SENT), item["error"]["message"]])
        else:
            rows.append([item["file"], item["image_id"], _styled(item["status"]), item.get("reason") or ""])
    return rows


def _outcome_rows_table(outcomes: list[dict[str, Any]]) -> Table:
    table = Table(*(field.header for field in UPLOAD_FIELDS))
    for row in _outcome_rows(outcomes):
        table.add_row(*row)
    return table


def _print_outcomes(outcomes: list[dict[str, Any]]) -> None:
    print_table(out, UPLOAD_FIELDS, _outcome_rows(outcomes))


# --- get ----------------------------------------------------------------------------------------------------------
@reports_errors
def get(
    ctx: typer.Context,
    image_id: Annotated[str, typer.Argument(help="The image id (from upload or list).")],
    *,
    size: Annotated[Size | None, typer.Option(help="A rendition: its link, or with --output/--open the image.")] = None,
    image_format: Annotated[Format, typer.Option("--format", help="The rendition's encoding.")] = Format.AUTO,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the rendition to this file.")] = None,
    open_in_browser: Annotated[bool, typer.Option("--open", help="Open the rendition in a browser.")] = False,
    json_output: JsonOption = False,
) -> None:
    """An image's status and metadata, or one rendition (--size) as a link, a file (--output) or in a browser."""
    options = options_of(ctx, json_output)
    if output and open_in_browser:
        fail("Choose --output or --open, not both.", EXIT_USAGE, json_mode=options.json_output)
    if size is None and not (output or open_in_browser):
        record = options.client.get_image(image_id)
        options.emit(record, lambda: out.print(_describe(record), highlight=False, soft_wrap=True))
        return
    link = options.client.rendition_link(image_id, (size or Size.LARGE).value, image_format.value)
    if output:
        link["saved_to"], link["saved_bytes"] = str(output), options.client.download(link["url"], output)
        options.emit(link, lambda: out.print(f"Saved {link['width']}x{link['height']} {link['format']} to {output}."))
    elif open_in_browser:
        _open(options, link)
    else:
        options.emit(link, lambda: out.print(link["url"], soft_wrap=True))


def _open(options: Options, link: dict[str, Any]) -> None:
    """webbrowser.open says False when no browser could be started: then the link, and exit 1."""
    link["opened"] = webbrowser.open(link["url"])
    if link["opened"]:
        options.emit(link, lambda: out.print(f"Opened {link['size']} in your browser."))
        return
    options.emit(link, lambda: out.print(link["url"], soft_wrap=True))
    if not options.json_output:
        err.print("[red]error:[/red] No browser could be opened; the link is above.")
    raise typer.Exit(EXIT_FAILED)


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


# --- list ---------------------------------------------------------------------------------------------------------
LIST_FIELDS = [
    Field("image id", key=True), Field("status", key=True), Field("file"), Field("size", key=True),
    Field("created", key=True),
]  # fmt: skip


@reports_errors
def list_images(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Images per page.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Start at this page (printed after each page).")] = None,
    every_page: Annotated[bool, typer.Option("--all", help="Follow every page to the end.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Your images, newest first, a page at a time."""
    options = options_of(ctx, json_output)
    page = options.client.list_images(limit, cursor)
    items = list(page["items"])
    while every_page and page["next_cursor"]:
        page = options.client.list_images(limit, page["next_cursor"])
        items.extend(page["items"])
    result = {"items": items, "next_cursor": page["next_cursor"]}
    options.emit(result, lambda: _print_page(items, page["next_cursor"], limit))


def _print_page(items: list[dict[str, Any]], next_cursor: str | None, limit: int) -> None:
    rows = [
        [
            item["image_id"], _styled(item["status"]), item.get("filename") or "",
            f"{item['width']}x{item['height']}" if item.get("width") else "", item["created_at"],
        ]
        for item in items
    ]  # fmt: skip
    print_table(out, LIST_FIELDS, rows)
    if next_cursor:
        out.print(f"More: imgplat list --limit {limit} --cursor {next_cursor}", soft_wrap=True, highlight=False)


# --- delete -------------------------------------------------------------------------------------------------------
def _delete_one(options: Options, image_id: str) -> dict[str, Any]:
    try:
        options.client.delete_image(image_id)
    except NotSignedIn:
        raise
    except (ApiError, Unreachable) as error:
        if not options.json_output:
            err.print(f"[red]failed:[/red] {image_id}: {_failure_text(error)}", highlight=False, soft_wrap=True)
        return {"image_id": image_id, "error": _failure(error)}
    if not options.json_output:
        out.print(f"deleted {image_id}", highlight=False)
    return {"image_id": image_id, "deleted": True}


@reports_errors
def delete(
    ctx: typer.Context,
    image_ids: Annotated[list[str], typer.Argument(metavar="IMAGE_ID", help="Image ids to delete.")],
    json_output: JsonOption = False,
) -> None:
    """Delete images: the original, every rendition and the record. One line per id; the others go on past a failure.

    Exit 4 when every failure was an unknown id, 1 when any other failure happened.
    """
    options = options_of(ctx, json_output)
    outcomes = [_delete_one(options, image_id) for image_id in image_ids]
    failed = [item for item in outcomes if "error" in item]
    deleted = [item["image_id"] for item in outcomes if "deleted" in item]
    options.emit({"deleted": deleted, "failed": failed}, lambda: None)
    if failed:
        all_unknown = all(item["error"].get("status") == HTTPStatus.NOT_FOUND for item in failed)
        raise typer.Exit(EXIT_NOT_FOUND if all_unknown else EXIT_FAILED)
