"""Tables whose key columns (ids, statuses, dates) are never cut: an id must survive a copy into the next command."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

# Free-text columns (file names, reasons) fold onto more lines but keep at least this many characters per line.
FOLDING_COLUMN_MIN_WIDTH = 12
# Rich draws "│ " before each cell, " " after it and one closing "│".
BORDER_PER_COLUMN, BORDER_CLOSING = 3, 1


@dataclass(frozen=True)
class Field:
    """A column: key columns stay on one line whole; the others fold."""

    header: str
    key: bool = False


def _column(field: Field, cells: Sequence[str]) -> Column:
    if field.key:
        widest = max([len(field.header), *(len(cell) for cell in cells)])
        return Column(field.header, no_wrap=True, min_width=widest)
    return Column(field.header, overflow="fold", min_width=FOLDING_COLUMN_MIN_WIDTH)


def print_table(console: Console, fields: Sequence[Field], rows: Sequence[Sequence[str]]) -> None:
    """Print rows as a table, as wide as the key columns need even past the terminal's width (or 80 when piped)."""
    columns = [_column(field, [_plain(row[index]) for row in rows]) for index, field in enumerate(fields)]
    table = Table(*columns)
    for row in rows:
        table.add_row(*row)
    needed = sum(column.min_width or 0 for column in columns) + BORDER_PER_COLUMN * len(columns) + BORDER_CLOSING
    # print(width=...) never goes past the console's own width, so the console is widened for this table alone.
    width = console.width
    console.width = max(width, needed)
    try:
        console.print(table, crop=False)
    finally:
        console.width = width


def _plain(cell: str) -> str:
    """The visible text of a cell that may hold rich markup ("[green]READY[/]")."""
    return Text.from_markup(cell).plain
