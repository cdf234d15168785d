"""Reading an input file safely: binary and UTF-16 files refused, bad bytes reported by line."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from pathlib import Path

NOT_UTF8 = "not valid UTF-8 text"


def problem(path: Path, line: int, message: str) -> str:
    """A `file:line: what is wrong` line."""
    return f"{path}:{line}: {message}"


def binary_problem(path: Path, head: bytes) -> str | None:
    """One problem line if the file is not text at all (an image, a PDF, a zip, UTF-16), else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or re.match(rb"(?:[\x09\x0a\x0d\x20-\x7e]\x00){4}", head):
        return problem(path, 1, "file is UTF-16 text; save it as UTF-8 and retry")
    if head.startswith(b"%PDF-"):
        return problem(path, 1, "this is a PDF; export the abstracts as text (JSON, CSV, BibTeX...) first")
    sample = head.decode("utf-8", "replace")
    junk = sum(ch == "\ufffd" or (ch < " " and ch not in "\t\n\r\f") for ch in sample)
    # One bad byte in a text file is a typo to report by line; 10% junk means it is not text at all.
    if b"\x00" in head or junk > max(8, len(sample) // 10):
        return problem(path, 1, "binary file, not a text export of papers (check the file name)")
    return None


def read_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, is valid UTF-8) for each line, streaming; bad bytes become U+FFFD."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text, ok = raw.decode("utf-8"), True
            except UnicodeDecodeError:
                text, ok = raw.decode("utf-8", "replace"), False
            yield number, (text.lstrip("\ufeff") if number == 1 else text), ok


def read_all(path: Path) -> tuple[str, list[int]]:
    """The whole file as text plus the (sorted) line numbers that were not valid UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").lstrip("\ufeff"), []
    except UnicodeDecodeError:
        pass
    parts: list[str] = []
    bad: list[int] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):  # "\n" only: the parsers count lines the same way
        try:
            parts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append(raw.decode("utf-8", "replace"))
            bad.append(number)
    return "\n".join(parts).lstrip("\ufeff"), bad


def first_bad(bad: list[int], start: int, end: int) -> int | None:
    """The first undecodable line within start..end, if any."""
    i = bisect.bisect_left(bad, start)
    return bad[i] if i < len(bad) and bad[i] <= end else None
