"""Parse abstract files (HF daily page, JSON/JSONL, CSV/TSV, BibTeX, arXiv Atom) into Paper records, streaming."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.errors import ParseError
from assistant.records import Paper
from ingest.formats.arxiv import iter_arxiv
from ingest.formats.bibtex import iter_bibtex, write_bibtex
from ingest.formats.daily import iter_daily
from ingest.formats.jsonfile import iter_json, iter_jsonl, json_loads
from ingest.formats.mapping import ABSTRACT_KEYS, TITLE_KEYS
from ingest.formats.table import iter_table
from ingest.text import normalize_text, normalize_title_key, slugify
from ingest.textfile import binary_problem, problem

__all__ = ["FORMATS", "detect_format", "iter_records", "normalize_text", "normalize_title_key", "parse_file",
           "slugify", "write_bibtex"]

_PARSERS: dict[str, Callable[[Path], Iterator[Paper | str]]] = {
    "daily": iter_daily,
    "jsonl": iter_jsonl,
    "json": iter_json,
    "csv": lambda path: iter_table(path, ","),
    "tsv": lambda path: iter_table(path, "\t"),
    "bibtex": iter_bibtex,
    "arxiv": iter_arxiv,
}
FORMATS = tuple(_PARSERS)

_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv", ".tab": "tsv",
    ".bib": "bibtex", ".bibtex": "bibtex",
    ".xml": "arxiv", ".atom": "arxiv",
}
_SNIFF_BYTES = 64 * 1024  # enough to see a header row, a first JSON line or the first BibTeX entry
_BINARY_SNIFF = 8192  # enough bytes to tell an image, a PDF or UTF-16 from text


def _sniff(head: bytes) -> str | None:
    """Guess the format from the first bytes of a file, or None."""
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text:
        return None
    if text.startswith("<"):
        return "arxiv"
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        value, error = json_loads(text.split("\n", 1)[0])
        return "jsonl" if error is None and isinstance(value, dict) else "json"
    if re.search(r"^[ \t]*@[A-Za-z]+[ \t]*[{(]", text, re.MULTILINE):
        return "bibtex"
    header = text.split("\n", 1)[0].lower()
    for fmt, sep in (("tsv", "\t"), ("csv", ",")):
        cells = {c.strip().strip('"').strip() for c in header.split(sep)}
        if sep in header and cells & set(TITLE_KEYS) and cells & set(ABSTRACT_KEYS):
            return fmt
    # Page text: a title paragraph, then a prose paragraph (the demo abstracts have 1,401-1,918 characters).
    paragraphs = [p.strip() for p in re.split(r"\n[ \t\r]*\n", text) if p.strip()]
    if len(paragraphs) >= 2 and any(len(p) >= 100 and p.endswith(".") for p in paragraphs[1:]):
        return "daily"
    return None


def detect_format(path: Path) -> str:
    """The format of a file: by extension, else by sniffing its first bytes; ParseError if unknown."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as exc:
        raise ParseError([problem(path, 1, f"cannot read the file: {exc.strerror or exc}")]) from exc
    fmt = _sniff(head)
    if fmt is None and suffix in (".txt", ".md", ".text"):
        fmt = "daily"  # the daily page is saved as plain text; iter_records reports a .txt that is not text
    if fmt is None:
        raise ParseError([problem(path, 1, f"cannot tell the format; use --format with one of: {', '.join(FORMATS)}")])
    return fmt


def iter_records(path: Path, fmt: str | None = None) -> Iterator[Paper | str]:
    """Stream a file: a Paper per good record, a "FILE:LINE: what is wrong" string per bad one."""
    path = Path(path)
    if fmt is None:
        fmt = detect_format(path)
    if fmt not in _PARSERS:
        raise ParseError([problem(path, 1, f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")])
    try:
        with open(path, "rb") as f:
            head = f.read(_BINARY_SNIFF)
        if (binary := binary_problem(path, head)) is not None:
            yield binary
            return
        yield from _PARSERS[fmt](path)
    except OSError as exc:
        yield problem(path, 1, f"cannot read the file: {exc.strerror or exc}")


def parse_file(path: Path, fmt: str | None = None) -> tuple[list[Paper], list[str]]:
    """Parse a whole file: (papers, problem lines)."""
    papers: list[Paper] = []
    problems: list[str] = []
    for record in iter_records(path, fmt):
        (problems if isinstance(record, str) else papers).append(record)
    return papers, problems
