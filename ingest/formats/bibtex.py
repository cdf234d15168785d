"""BibTeX to Paper records (bibtexparser, with its own name-splitting middlewares), and Paper records to BibTeX."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import bibtexparser
from bibtexparser.middlewares import NormalizeFieldKeys, SeparateCoAuthors, SplitNameParts
from bibtexparser.middlewares.names import InvalidNameError, NameParts, parse_single_name_into_parts
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, Field, MiddlewareErrorBlock, ParsingFailedBlock

from assistant.records import Paper
from ingest import fields
from ingest.text import normalize_text, shorten, slugify
from ingest.textfile import NOT_UTF8, first_bad, problem, read_all

# bibtexparser logs every broken block and every "Author"/"author" clash; our problem lines already say so.
_QUIET_LOGGERS = ("bibtexparser.splitter", "bibtexparser.middlewares.fieldkeys")


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _quiet():
    hush = _DropAll()
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).addFilter(hush)
    try:
        yield
    finally:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).removeFilter(hush)


def _parse(text: str) -> bibtexparser.Library | str:
    """bibtexparser's library for a text, with author lists split into name parts, or its error message."""
    # Lowercase keys first: SeparateCoAuthors only looks at a field called exactly "author".
    stack = [NormalizeFieldKeys(), SeparateCoAuthors(), SplitNameParts()]
    with _quiet():
        try:
            return bibtexparser.parse_string(text, append_middleware=stack)
        except Exception as exc:  # a third-party parser on hostile input: report, never crash
            return str(exc) or type(exc).__name__


def _name(parts: NameParts) -> str:
    """BibTeX's name parts in reading order, "First von Last", and ", Jr." when there is a suffix."""
    name = " ".join(parts.first + parts.von + parts.last)
    return f"{name}, {' '.join(parts.jr)}" if parts.jr else name


def _authors(value: object) -> list[str]:
    """Display names from the author field: NameParts from SplitNameParts, or the split strings it refused."""
    if isinstance(value, str):  # not split: the middlewares leave a non-entry block alone
        value = [value]
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        if isinstance(item, str):  # a name BibTeX itself rejects ("A, B, C, D"): keep it as written
            try:
                item = parse_single_name_into_parts(item)
            except InvalidNameError:
                pass
        text = _name(item) if isinstance(item, NameParts) else str(item)
        if name := normalize_text(text):
            names.append(name)
    return names


def _bib_date(year: str, month: str, day: str) -> str:
    """A date from BibTeX's separate year / month / day fields ("2021", "jan" or "1", "5")."""
    mon = fields.month_number(month)
    if re.fullmatch(r"\d{4}", year.strip()) and mon is not None:
        try:
            return dt.date(int(year), mon, int(day) if day.strip().isdigit() else 1).isoformat()
        except ValueError:
            pass
    return fields.parse_date(year)


def _arxiv(get: Callable[[str], str]) -> str:
    """The arXiv id in eprint (when the archive is arXiv), url, doi or journal = {arXiv:2101.00001}."""
    archive = (get("archiveprefix") or get("eprinttype")).lower()
    arxiv = fields.arxiv_id(get("eprint")) if get("eprint") and archive in ("", "arxiv") else ""
    arxiv = arxiv or fields.arxiv_id(get("url"), anywhere=True) or fields.arxiv_id(get("doi"), anywhere=True)
    return arxiv or fields.arxiv_id(get("journal"), anywhere=False)


def _paper_from_entry(entry: Entry, path: Path, line: int) -> Paper | str:
    """A Paper from one entry, or a problem line naming the entry's key and what it lacks."""
    by_key = entry.fields_dict

    def get(name: str) -> str:
        value = by_key[name].value if name in by_key else ""
        return value.strip() if isinstance(value, str) else ""

    key = entry.key.strip()
    title = normalize_text(get("title"))
    abstract = normalize_text(get("abstract"))
    if not title:
        return problem(path, line, f"entry '{key}' has no title")
    if not abstract:
        return problem(path, line, f"entry '{key}' has no abstract")
    arxiv = _arxiv(get)
    categories = fields.categories(get("primaryclass")) + fields.categories(get("keywords"))
    return Paper(
        id=arxiv or key or slugify(title),
        title=title,
        abstract=abstract,
        authors=_authors(by_key["author"].value) if "author" in by_key else [],
        published=fields.parse_date(get("date")) or _bib_date(get("year"), get("month"), get("day")),
        url=get("url") or (fields.arxiv_url(arxiv) if arxiv else ""),
        categories=list(dict.fromkeys(categories)),
        source=str(path),
        line=line,
    )


def _failure(block: ParsingFailedBlock) -> str:
    """Why bibtexparser could not parse a block, in a few words."""
    error = block.error
    reason = getattr(error, "abort_reason", None) or getattr(error, "message", None) or str(error)
    return shorten(str(reason).strip() or "syntax error", 120)


def iter_bibtex(path: Path) -> Iterator[Paper | str]:
    """A Paper per entry with a title and an abstract; a problem line per broken, duplicate or incomplete one."""
    # bibtexparser has no streaming API; .bib files are small (10k entries ~ 10 MB), so reading whole is fine.
    text, bad = read_all(path)
    library = _parse(text)
    if isinstance(library, str):
        yield problem(path, 1, f"cannot parse BibTeX: {shorten(library, 200)}")
        return
    for block in library.blocks:
        line = (block.start_line or 0) + 1  # bibtexparser counts lines from 0
        end = line + (block.raw or "").count("\n")
        if isinstance(block, MiddlewareErrorBlock) and isinstance(block.error, InvalidNameError):
            block = block.ignore_error_block  # the entry with its authors split but not into parts
        if isinstance(block, DuplicateBlockKeyBlock):
            yield problem(path, line, f"duplicate entry key '{block.key}' (the first one is kept)")
        elif isinstance(block, ParsingFailedBlock):
            yield problem(path, line, f"cannot parse this BibTeX block: {_failure(block)}")
        elif isinstance(block, Entry):
            if (bad_line := first_bad(bad, line, end)) is not None:
                yield problem(path, bad_line, NOT_UTF8)
            else:
                yield _paper_from_entry(block, path, line)


# --- writing -----------------------------------------------------------------------------------------------------

_SPECIAL = re.compile(r"([&%$#_])")


def _escape(text: str) -> str:
    """Text safe inside a braced BibTeX value: braces and backslashes dropped, LaTeX specials escaped."""
    text = " ".join(text.replace("\\", " ").replace("{", "").replace("}", "").split())
    return _SPECIAL.sub(r"\\\1", text)


def _person(name: str) -> str:
    """One author for an "and"-joined list; a name with a comma or an " and " in it is braced, kept whole."""
    name = _escape(name)
    return f"{{{name}}}" if "," in name or re.search(r"\sand\s", name, re.IGNORECASE) else name


def _entry(paper: Paper, key: str) -> Entry:
    """An @misc entry for one paper: title, authors, abstract, dates, URL and its arXiv id if it has one."""
    arxiv = fields.arxiv_id(paper.id)
    values = [
        ("title", _escape(paper.title)),
        ("author", " and ".join(_person(a) for a in paper.authors if a.strip())),
        ("year", paper.published[:4] if paper.published[:4].isdigit() else ""),
        ("date", paper.published if fields.parse_date(paper.published) == paper.published else ""),
        ("url", " ".join(paper.url.replace("{", "").replace("}", "").split())),
        ("eprint", arxiv),
        ("archiveprefix", "arXiv" if arxiv else ""),
        ("keywords", _escape(", ".join(paper.categories))),
        ("abstract", _escape(paper.abstract)),
    ]
    return Entry("misc", key, [Field(name, value) for name, value in values if value])


def write_bibtex(papers: Iterable[Paper]) -> str:
    """BibTeX @misc entries for papers, one per id, that iter_records reads back to the same papers."""
    library = bibtexparser.Library()
    keys: set[str] = set()
    seen: set[str] = set()
    for paper in papers:
        if paper.id in seen:
            continue
        seen.add(paper.id)
        base = re.sub(r"[^A-Za-z0-9_.:-]+", "_", paper.id) or "paper"
        key, n = base, 1
        while key in keys:  # two ids that differ only in characters a key cannot hold
            n += 1
            key = f"{base}_{n}"
        keys.add(key)
        library.add(_entry(paper, key))
    if not keys:
        return ""
    fmt = bibtexparser.BibtexFormat()
    fmt.indent = "  "
    return bibtexparser.write_string(library, bibtex_format=fmt)
