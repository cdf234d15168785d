"""CSV and TSV with a header row (title and abstract columns at least) to Paper records."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from assistant.records import Paper
from ingest.formats.mapping import ABSTRACT_KEYS, TITLE_KEYS, paper_from_mapping
from ingest.text import shorten
from ingest.textfile import NOT_UTF8, first_bad, problem, read_lines


def _columns(header: list[str]) -> dict[str, int]:
    """Column index by lowercased header name; the first of two same-named columns wins."""
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        columns.setdefault(name.strip().lower(), i)
    return columns


def _header_problem(path: Path, line: int, header: list[str], delimiter: str) -> str | None:
    """A problem line if the header lacks a title or an abstract column."""
    names = [cell.strip().lower() for cell in header]
    if any(k in names for k in TITLE_KEYS) and any(k in names for k in ABSTRACT_KEYS):
        return None
    shown = ", ".join(shorten(h, 30) for h in names[:12])
    kind = "TSV" if delimiter == "\t" else "CSV"
    return problem(path, line, f"{kind} header needs 'title' and 'abstract' columns (found: {shown})")


def iter_table(path: Path, delimiter: str) -> Iterator[Paper | str]:
    """A Paper or a problem line per data row; a row's line is the line it starts on."""
    bad: list[int] = []

    def decoded() -> Iterator[str]:
        for number, text, ok in read_lines(path):
            if not ok:
                bad.append(number)  # the row that holds this line is reported instead of parsed
            yield text

    reader = csv.reader(decoded(), delimiter=delimiter)
    columns: dict[str, int] | None = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            reason = str(exc)
            if "new-line character" in reason:  # csv's hint about "universal-newline mode" means nothing to a user
                reason = "bare CR line endings (old Mac style); save the file with LF or CRLF line endings"
            yield problem(path, start, f"cannot read this row: {reason}")
            if reader.line_num < start:  # no progress: stop rather than loop
                break
            continue
        if (bad_line := first_bad(bad, start, reader.line_num)) is not None:
            yield problem(path, bad_line, NOT_UTF8)
        elif not any(cell.strip() for cell in row):
            continue
        elif columns is None:
            if (header_problem := _header_problem(path, start, row, delimiter)) is not None:
                yield header_problem
                return
            columns = _columns(row)
        else:
            record = {name: row[i] for name, i in columns.items() if i < len(row)}
            yield paper_from_mapping(record, path, start, "row")
