"""A small, predictable markdown subset for the text of document sections.

Blocks (one per group of lines; line endings ``\\r\\n`` and ``\\r`` count as ``\\n``):

- paragraph: consecutive text lines; a blank line ends it; each line is stripped and the lines are joined
  with one space (soft wrap);
- heading: ``# Título``, ``## Título`` or ``### Título`` (one to three ``#``, then a space) -> level 1 to 3;
  more ``#`` or no space after them is plain text;
- bullet list: consecutive lines starting with ``- `` or ``* ``; numbered list: consecutive lines starting
  with digits and ``.`` or ``)`` then a space (``1. ``, ``2) ``), numbered on from the first item's number.
  Blank lines between items of one list are allowed; an indented text line right after an item continues it;
  any other line ends the list. Indentation does not nest lists;
- table: a row line starting with ``|`` (``| a | b |``), then a separator row whose cells are only dashes with
  optional colons (``|---|:---:|---:|``, the colons set the column alignment), then the body rows: the following
  lines starting with ``|``. The header fixes the column count: shorter rows are padded with empty cells and
  extra cells are dropped. A ``|`` inside a cell is written ``\\|``. Without a separator row, ``|`` lines are
  plain text.

Inline, inside any block: ``***negrito e itálico***``, ``**negrito**``, ``*itálico*``; an opening marker must be
followed, and its closing marker preceded, by a non-space character, and nesting of different markers works
(``**a *b* c**``). Markers without a match, and runs of four or more ``*``, stay as literal text.

``parse`` never raises, and every non-space character of the text reaches the output, except the markers
themselves and the extra table cells.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False


Runs = tuple[Run, ...]


@dataclass(frozen=True)
class Paragraph:
    runs: Runs


@dataclass(frozen=True)
class Heading:
    level: int
    runs: Runs


@dataclass(frozen=True)
class BulletList:
    items: tuple[Runs, ...]


@dataclass(frozen=True)
class NumberedList:
    items: tuple[Runs, ...]
    start: int = 1


@dataclass(frozen=True)
class Table:
    header: tuple[Runs, ...]
    rows: tuple[tuple[Runs, ...], ...]
    aligns: tuple[str, ...] = ()


Block = Paragraph | Heading | BulletList | NumberedList | Table

_HEADING = re.compile(r"(#{1,3})[ \t]+(\S.*)")
_BULLET = re.compile(r"[ \t]*[-*][ \t]+(\S.*)")
_NUMBERED = re.compile(r"[ \t]*(\d{1,9})[.)][ \t]+(\S.*)")
_SEPARATOR_CELL = re.compile(r":?-+:?")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_STARS = re.compile(r"\*+")


def plain(runs: Iterable[Run]) -> str:
    """The text of runs without formatting."""
    return "".join(run.text for run in runs)


def inline(text: str) -> Runs:
    """Runs of one line of text with its bold/italic markers resolved."""
    return _merge(_inline(text, False, False))


def _inline(text: str, bold: bool, italic: bool) -> list[Run]:
    stars = list(_STARS.finditer(text))
    closers: dict[int, list[re.Match[str]]] = {1: [], 2: [], 3: []}
    for match in stars:
        size = len(match.group())
        if size <= 3 and match.start() > 0 and not text[match.start() - 1].isspace():
            closers[size].append(match)
    runs: list[Run] = []
    start = 0
    for match in stars:
        close = _closing(text, match, closers) if match.start() >= start else None
        if close is None:
            continue
        size = len(match.group())
        runs.append(Run(text[start : match.start()], bold, italic))
        runs.extend(_inline(text[match.end() : close.start()], bold or size >= 2, italic or size != 2))
        start = close.end()
    runs.append(Run(text[start:], bold, italic))
    return runs


def _closing(text: str, opening: re.Match[str], closers: dict[int, list[re.Match[str]]]) -> re.Match[str] | None:
    """The star run that closes ``opening``: same length, after it, preceded by a non-space character."""
    size = len(opening.group())
    if size > 3 or opening.end() >= len(text) or text[opening.end()].isspace():
        return None
    candidates = closers[size]
    index = bisect.bisect_left(candidates, opening.end(), key=lambda match: match.start())
    return candidates[index] if index < len(candidates) else None


def _merge(runs: Iterable[Run]) -> Runs:
    merged: list[Run] = []
    for run in runs:
        if not run.text:
            continue
        if merged and (merged[-1].bold, merged[-1].italic) == (run.bold, run.italic):
            merged[-1] = Run(merged[-1].text + run.text, run.bold, run.italic)
        else:
            merged.append(run)
    return tuple(merged)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(body)]


def _is_separator(line: str) -> bool:
    stripped = line.strip()
    if "|" not in stripped:
        return False
    return all(_SEPARATOR_CELL.fullmatch(cell) for cell in _cells(stripped))


def _align(cell: str) -> str:
    if cell.startswith(":") and cell.endswith(":") and len(cell) > 1:
        return "center"
    return "right" if cell.endswith(":") else "left"


def table_at(lines: list[str], start: int) -> tuple[Table, int] | None:
    """The table starting at ``lines[start]`` and the index after it, or None when there is none."""
    if start + 1 >= len(lines) or not lines[start].lstrip().startswith("|") or not _is_separator(lines[start + 1]):
        return None
    header = _cells(lines[start])
    width = len(header)
    aligns = tuple(_align(cell) for cell in (_cells(lines[start + 1]) + ["-"] * width)[:width])
    rows: list[tuple[Runs, ...]] = []
    end = start + 2
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        cells = (_cells(lines[end]) + [""] * width)[:width]
        rows.append(tuple(inline(cell) for cell in cells))
        end += 1
    return Table(tuple(inline(cell) for cell in header), tuple(rows), aligns), end


class _Builder:
    """Accumulates lines into blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.text: list[str] = []
        self.items: list[list[str]] = []
        self.list_kind: type[BulletList] | type[NumberedList] | None = None
        self.start, self.gap = 1, False

    def flush(self) -> None:
        if self.text:
            self.blocks.append(Paragraph(inline(" ".join(self.text))))
            self.text = []
        if self.list_kind is not None:
            items = tuple(inline(" ".join(item)) for item in self.items)
            self.blocks.append(NumberedList(items, self.start) if self.list_kind is NumberedList else BulletList(items))
            self.items, self.list_kind, self.gap = [], None, False

    def blank(self) -> None:
        """A blank line ends a paragraph; a list goes on if the next line is another item of it."""
        if self.list_kind is None:
            self.flush()
        else:
            self.gap = True

    def item(self, kind: type[BulletList] | type[NumberedList], text: str, number: int = 1) -> None:
        if self.list_kind is not kind:
            self.flush()
            self.list_kind, self.start = kind, number
        self.gap = False
        self.items.append([text.strip()])

    def line(self, line: str) -> None:
        if self.list_kind is not None and not self.gap and line[:1] in (" ", "\t"):
            self.items[-1].append(line.strip())
            return
        if self.list_kind is not None:
            self.flush()
        self.text.append(line.strip())

    def add(self, block: Block) -> None:
        self.flush()
        self.blocks.append(block)


def parse(text: str | None) -> list[Block]:
    """The blocks of a section text (see the module docstring for the subset)."""
    if not isinstance(text, str):
        return []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    builder = _Builder()
    index = 0
    while index < len(lines):
        line = lines[index]
        table = table_at(lines, index) if line.lstrip().startswith("|") else None
        if table is not None:
            builder.add(table[0])
            index = table[1]
            continue
        index += 1
        if not line.strip():
            builder.blank()
        elif heading := _HEADING.fullmatch(line.rstrip()):
            builder.add(Heading(len(heading.group(1)), inline(heading.group(2).strip())))
        elif bullet := _BULLET.fullmatch(line.rstrip()):
            builder.item(BulletList, bullet.group(1))
        elif numbered := _NUMBERED.fullmatch(line.rstrip()):
            builder.item(NumberedList, numbered.group(2), int(numbered.group(1)))
        else:
            builder.line(line)
    builder.flush()
    return builder.blocks
