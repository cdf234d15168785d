"""Parse abstract files (HF daily page, JSON/JSONL, CSV/TSV, BibTeX, arXiv Atom) into Paper records, streaming."""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import hashlib
import html
import json
import logging
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import bibtexparser
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

from assistant.errors import ParseError
from assistant.records import Paper

FORMATS = ("daily", "jsonl", "json", "csv", "tsv", "bibtex", "arxiv")

_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv", ".tab": "tsv",
    ".bib": "bibtex", ".bibtex": "bibtex",
    ".xml": "arxiv", ".atom": "arxiv",
}
_SLUG_MAX = 64  # the ids in shared/eval/papers.jsonl are cut at a word boundary to at most 64 characters
_SNIFF_BYTES = 64 * 1024  # enough to see a header row, a first JSON line or the first BibTeX entry
_XML_PROLOG_MAX = 1024 * 1024  # an Atom feed's root element starts within the first few hundred bytes
_READ_CHUNK = 64 * 1024

# Field aliases, most specific first. An arXiv id wins over any other id wherever it is found.
_TITLE_KEYS = ("title",)
_ABSTRACT_KEYS = ("abstract", "summary", "text")
_ID_KEYS = ("id", "arxiv_id", "arxivid", "paper_id", "_id")
_AUTHOR_KEYS = ("authors", "author")
_DATE_KEYS = ("published", "date", "publishedat", "published_at", "year")
_URL_KEYS = ("url", "link")
_CATEGORY_KEYS = ("categories", "category", "tags")

# --- arXiv ids -----------------------------------------------------------------------------------------------

# New style since 2007 (0704.0001, 4 digits; 5 digits since 2015) and old style archive/YYMMNNN (hep-th/9901001).
_ARXIV_CORE = r"(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_ARXIV_BARE = re.compile(rf"(?:arxiv:\s*)?({_ARXIV_CORE})(?:v\d+)?", re.IGNORECASE)
_ARXIV_IN_URL = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|10\.48550/arxiv\.|huggingface\.co/papers/)({_ARXIV_CORE})(?:v\d+)?",
    re.IGNORECASE,
)


def _arxiv_id(value: str, anywhere: bool = False) -> str:
    """The version-less arXiv id in an id field (or, if anywhere, in a URL/DOI), else ""."""
    value = value.strip()
    if anywhere:
        m = _ARXIV_IN_URL.search(value)
        return m.group(1) if m else ""
    m = _ARXIV_BARE.fullmatch(value)
    if not m:
        m = _ARXIV_IN_URL.search(value)
    return m.group(1) if m else ""


def _arxiv_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


# --- text normalisation ----------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328", "r": "\u030a"}
_ACCENT_SYMBOL = re.compile(r"""\\(["'`^~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))""")
_ACCENT_LETTER = re.compile(r"\\([cvuHkr])(?:\s*\{\s*(\\?[A-Za-z])\s*\}|\s+([A-Za-z]))")
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
            "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ"}
_LETTER_CMD = re.compile(r"\\(ss|o|O|ae|AE|oe|OE|aa|AA|l|L|i|j)(?![A-Za-z])(?:\s*\{\s*\})?")
_ABBREVS = {"ie": "i.e.", "eg": "e.g.", "etal": "et al.", "etc": "etc.", "vs": "vs.", "cf": "cf.", "wrt": "w.r.t."}
_ABBREV_CMD = re.compile(r"\\(ie|eg|etal|etc|vs|cf|wrt)(?![A-Za-z])\.?(?:\\\s|\{\})?")
_ESCAPED = re.compile(r"\\([&%$#_{}])")
_DROP_WITH_ARG = re.compile(r"\\(?:cite[tp]?|ref|eqref|label|footnote)\*?\s*(?:\[[^\]]*\])?\{[^{}]*\}")
_STYLE_CMD = re.compile(
    r"\\(?:emph|textbf|textit|textsc|texttt|textrm|textsf|textup|textnormal|text|mathrm|mathbf|mathit|mathsf|"
    r"mathtt|mathcal|mathbb|mathfrak|boldsymbol|bm|underline|mbox|hbox|textsuperscript|textsubscript|url)\s*(?=\{)"
)
_SPACING_CMD = re.compile(r"\\(?:[,;:! ]|\\|quad|qquad|newline)")
_OTHER_CMD = re.compile(r"\\([A-Za-z]+)")
_DISPLAY_MATH = re.compile(r"\$\$([^$]{1,2000})\$\$")
# Pandoc's rule for inline math: "$" then non-space ... non-space then "$" not followed by a digit, so
# "costs $5 and $10" keeps its dollars while "$x^2$" loses them.
_INLINE_MATH = re.compile(r"\$(?=\S)([^$]{1,1000}?)(?<=\S)\$(?!\d)")
_TILDE = re.compile(r"(?<![/\\])~")  # "~" is a LaTeX non-breaking space, except in URLs like host/~user
# Private-use stand-ins for escaped characters, so that brace and dollar removal leave \{ \} \$ alone.
_GUARD = {"&": "\ue000", "%": "\ue001", "$": "\ue002", "#": "\ue003", "_": "\ue004", "{": "\ue005", "}": "\ue006"}
_UNGUARD = {v: k for k, v in _GUARD.items()}
_UNGUARD_RE = re.compile("[\ue000-\ue006]")


def _squash(text: str) -> str:
    """Drop control characters and collapse all whitespace runs to one space."""
    return " ".join(_CONTROL.sub("", text).split())


def _accent(match: re.Match[str]) -> str:
    letter = match.group(2) or match.group(3)
    letter = {"\\i": "i", "\\j": "j"}.get(letter, letter.lstrip("\\"))
    return unicodedata.normalize("NFC", letter + _ACCENTS[match.group(1)])


def _strip_latex(text: str) -> str:
    """Turn the LaTeX that leaks into titles and abstracts into plain text; leave anything unknown readable."""
    if "\\" not in text and "{" not in text and "$" not in text and "~" not in text:
        return text
    text = _UNGUARD_RE.sub("", text)  # our stand-ins must not already be in the input
    text = _ESCAPED.sub(lambda m: _GUARD[m.group(1)], text)
    text = _ACCENT_SYMBOL.sub(_accent, text)
    text = _ACCENT_LETTER.sub(_accent, text)
    text = _LETTER_CMD.sub(lambda m: _LETTERS[m.group(1)], text)
    text = _ABBREV_CMD.sub(lambda m: _ABBREVS[m.group(1)], text)
    text = _DROP_WITH_ARG.sub("", text)
    text = _STYLE_CMD.sub("", text)
    text = _SPACING_CMD.sub(" ", text)
    text = _DISPLAY_MATH.sub(r"\1", text)
    text = _INLINE_MATH.sub(r"\1", text)
    text = _OTHER_CMD.sub(r"\1", text)  # \alpha -> "alpha": readable and searchable
    text = text.replace("{", "").replace("}", "")
    text = _TILDE.sub(" ", text)
    return _UNGUARD_RE.sub(lambda m: _UNGUARD[m.group(0)], text)


def normalize_text(text: str) -> str:
    """Decode HTML entities, turn simple LaTeX into plain text, collapse whitespace and strip."""
    text = html.unescape(str(text))
    text = _strip_latex(text)
    text = unicodedata.normalize("NFC", text)
    return _squash(text)


def normalize_title_key(title: str) -> str:
    """Lowercase alphanumeric-only key of a title, to spot the same paper across files."""
    text = unicodedata.normalize("NFKD", normalize_text(title)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def slugify(title: str) -> str:
    """Lowercase ASCII slug of a title, cut at a word boundary to at most 64 characters."""
    ascii_text = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > _SLUG_MAX:
        # The last word of the 64-character head is always dropped, even when it happens to be whole:
        # that is the rule behind the published ids ("...-with-group", not "...-with-group-ordering").
        head = slug[:_SLUG_MAX]
        cut = head.rfind("-")
        slug = head[:cut] if cut > 0 else head
    if not slug and str(title).strip():
        # A title with no ASCII letters (e.g. Chinese) still needs a stable, distinct id.
        digest = hashlib.sha1(str(title).strip().encode("utf-8", "surrogatepass")).hexdigest()
        slug = f"paper-{digest[:12]}"
    return slug


# --- small field helpers ---------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH = r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    (re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"), ("y", "m", "d")),
    (re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})", re.I), ("d", "M", "y")),
    (re.compile(rf"{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", re.I), ("M", "d", "y")),
    (re.compile(rf"{_MONTH},?\s+(\d{{4}})", re.I), ("M", "y")),
    (re.compile(r"^(\d{4})[-/](\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{4})$"), ("y",)),
)


def _parse_date(value: Any) -> str:
    """An ISO "YYYY-MM-DD" for a date in any common spelling, else ""; never raises."""
    text = (_scalar(value) or "").strip()[:100]
    for pattern, order in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        parts = dict(zip(order, m.groups(), strict=True))
        year = int(parts["y"])
        mon = _MONTHS[parts["M"][:3].lower()] if "M" in parts else int(parts.get("m", 1))
        # A year-only or month-only date becomes the first day of that period: the record needs a full date,
        # and the first day is the one a "since X" filter treats most conservatively.
        day_n = int(parts.get("d", 1))
        try:
            return dt.date(year, mon, day_n).isoformat() if 1000 <= year <= 2999 else ""
        except ValueError:
            return ""
    return ""


def _bib_date(year: str, month: str, day: str) -> str:
    """A date from BibTeX's separate year / month / day fields ("2021", "jan" or "1", "5")."""
    m = re.fullmatch(r"(?:(\d{1,2})|" + _MONTH + r")", month.strip(), re.IGNORECASE)
    if re.fullmatch(r"\d{4}", year.strip()) and m:
        mon = int(m.group(1)) if m.group(1) else _MONTHS[m.group(2)[:3].lower()]
        try:
            return dt.date(int(year), mon, int(day) if day.strip().isdigit() else 1).isoformat()
        except ValueError:
            pass
    return _parse_date(year)


def _scalar(value: Any) -> str | None:
    """Text of a str/int/float value; None for anything else (bool, list, dict, None)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _split_names(text: str) -> list[str]:
    """Author names from one string: "A; B", "A, B and C"."""
    parts = text.split(";") if ";" in text else re.split(r",|\s+and\s+", text)
    return [p for p in (normalize_text(p) for p in parts) if p]


def _authors(value: Any) -> list[str]:
    """Author names from a list of str, a list of {"name": ...} or one "A, B" string; junk is skipped."""
    if isinstance(value, str):
        return _split_names(value)
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("name")
        text = _scalar(item)
        if text and (name := normalize_text(text)):
            names.append(name)
    return names


_CATEGORY_TOKEN = re.compile(r"[a-z][a-z\-]*\.[A-Za-z\-]+|[a-z][a-z\-]+")


def _categories(value: Any) -> list[str]:
    """Categories/tags from a list or a string: "cs.CV cs.LG", "vision; robotics" or "a, b"."""
    if isinstance(value, str):
        if re.search(r"[,;]", value):
            items = re.split(r"[,;]", value)
        elif all(_CATEGORY_TOKEN.fullmatch(t) for t in value.split()) and "." in value:
            items = value.split()  # arXiv style: space-separated "cs.CV cs.LG"
        else:
            items = [value]
    elif isinstance(value, list):
        items = [
            (item.get("term") or item.get("name")) if isinstance(item, Mapping) else item
            for item in value
        ]
    else:
        return []
    out: list[str] = []
    for item in items:
        text = _scalar(item)
        if text and (tag := normalize_text(text)) and tag not in out:
            out.append(tag)
    return out


def _problem(path: Path, line: int, message: str) -> str:
    return f"{path}:{line}: {message}"


def _short(text: str, limit: int = 60) -> str:
    text = _squash(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- reading bytes safely ----------------------------------------------------------------------------------------


def _binary_problem(path: Path, head: bytes) -> str | None:
    """One problem line if the file is not text at all (an image, a PDF, a zip, UTF-16), else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or re.match(rb"(?:[\x09\x0a\x0d\x20-\x7e]\x00){4}", head):
        return _problem(path, 1, "file is UTF-16 text; save it as UTF-8 and retry")
    if head.startswith(b"%PDF-"):
        return _problem(path, 1, "this is a PDF; export the abstracts as text (JSON, CSV, BibTeX...) first")
    sample = head.decode("utf-8", "replace")
    junk = sum(ch == "\ufffd" or (ch < " " and ch not in "\t\n\r\f") for ch in sample)
    # One bad byte in a text file is a typo to report by line; 10% junk means it is not text at all.
    if b"\x00" in head or junk > max(8, len(sample) // 10):
        return _problem(path, 1, "binary file, not a text export of papers (check the file name)")
    return None


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, is valid UTF-8) for each line, streaming; bad bytes become U+FFFD."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text, ok = raw.decode("utf-8"), True
            except UnicodeDecodeError:
                text, ok = raw.decode("utf-8", "replace"), False
            yield number, (text.lstrip("\ufeff") if number == 1 else text), ok


def _read_all(path: Path) -> tuple[str, list[int]]:
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


def _first_bad(bad: list[int], start: int, end: int) -> int | None:
    """The first undecodable line within start..end, if any."""
    i = bisect.bisect_left(bad, start)
    return bad[i] if i < len(bad) and bad[i] <= end else None


_NOT_UTF8 = "not valid UTF-8 text"

# --- records from mappings (JSON, JSONL, CSV) ------------------------------------------------------------------


def _lower_keys(obj: Mapping) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, str):
            out.setdefault(key.strip().lower(), value)
    return out


def _pick(obj: Mapping[str, Any], keys: Iterable[str]) -> Any:
    """The first present, non-empty value among keys."""
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _paper_from_mapping(obj: Mapping, path: Path, line: int, where: str = "record") -> Paper | str:
    """A Paper from one generic or Hugging Face-shaped object, or a problem line saying what is missing."""
    rec = _lower_keys(obj)
    inner = rec.get("paper")
    if isinstance(inner, Mapping):
        # HF daily-papers API: {"paper": {id, title, summary, authors, publishedAt}, "title": ..., ...};
        # the inner paper is the arXiv record, the outer entry only fills gaps.
        merged = {k: v for k, v in rec.items() if k != "paper"}
        merged.update({k: v for k, v in _lower_keys(inner).items() if v not in (None, "", [], {})})
        rec = merged
    fields = {}
    for name, keys in (("title", _TITLE_KEYS), ("abstract", _ABSTRACT_KEYS)):
        value = _pick(rec, keys)
        if value is None:
            return _problem(path, line, f"{where} has no {name} (expected a field {' / '.join(keys)})")
        text = _scalar(value)
        if text is None:
            return _problem(path, line, f"{where}: field '{name}' should be text, not {type(value).__name__}")
        fields[name] = normalize_text(text)
        if not fields[name]:
            return _problem(path, line, f"{where} has an empty {name}")
    url = _scalar(_pick(rec, _URL_KEYS)) or ""
    given = ""
    arxiv = ""
    for key in _ID_KEYS:
        text = _scalar(rec.get(key))
        if text and text.strip():
            given = given or text.strip()
            arxiv = arxiv or _arxiv_id(text)
    arxiv = arxiv or _arxiv_id(url, anywhere=True) or _arxiv_id(_scalar(rec.get("doi")) or "", anywhere=True)
    return Paper(
        id=arxiv or given or slugify(fields["title"]),
        title=fields["title"],
        abstract=fields["abstract"],
        authors=_authors(_pick(rec, _AUTHOR_KEYS)),
        published=_parse_date(_pick(rec, _DATE_KEYS)),
        url=url.strip() or (_arxiv_url(arxiv) if arxiv else ""),
        categories=_categories(_pick(rec, _CATEGORY_KEYS)),
        source=str(path),
        line=line,
    )


def _json_loads(text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, error message); deep nesting and huge numbers are errors, not crashes."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "nested too deeply"
    except json.JSONDecodeError as exc:
        return None, exc.msg + (f" at column {exc.colno}" if exc.lineno == 1 else " at the end of the line")
    except ValueError as exc:  # int-too-long: Python refuses numbers over 4,300 digits
        return None, _short(str(exc), 120)


def _iter_jsonl(path: Path) -> Iterator[Paper | str]:
    for number, text, ok in _lines(path):
        if not ok:
            yield _problem(path, number, _NOT_UTF8)
            continue
        if not text.strip():
            continue
        value, error = _json_loads(text)
        if error is not None:
            yield _problem(path, number, f"invalid JSON: {error}")
        elif not isinstance(value, Mapping):
            yield _problem(path, number, f"expected a JSON object per line, got {type(value).__name__}")
        else:
            yield _paper_from_mapping(value, path, number)


_JSON_WS = re.compile(r"[ \t\r\n]*")
_LIST_KEYS = ("papers", "data", "results", "items", "entries", "records", "dailypapers")


class _LineCounter:
    """Line number of increasing offsets into one text, in O(text) total."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.pos:  # rare (out-of-order lookups): recount from the start
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.line


def _iter_json(path: Path) -> Iterator[Paper | str]:
    text, bad = _read_all(path)
    for number in bad:
        yield _problem(path, number, _NOT_UTF8)
    if bad:
        return  # a JSON document with broken bytes is unreliable as a whole; the problems say where
    pos = _JSON_WS.match(text).end()
    if pos == len(text):
        return
    lines = _LineCounter(text)
    if text[pos] == "[":
        yield from _iter_json_array(path, text, pos, lines)
        return
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(text, pos)
    except RecursionError:
        yield _problem(path, 1, "invalid JSON: nested too deeply")
        return
    except ValueError as exc:
        yield _problem(path, getattr(exc, "lineno", 1), f"invalid JSON: {getattr(exc, 'msg', exc)}")
        return
    if _JSON_WS.match(text, end).end() != len(text) and isinstance(value, Mapping):
        yield from _iter_jsonl(path)  # several objects one after another: it is really JSON Lines
        return
    if not isinstance(value, Mapping):
        yield _problem(path, 1, f"expected a JSON list of objects, got {type(value).__name__}")
        return
    low = _lower_keys(value)
    listed = next((low[k] for k in _LIST_KEYS if isinstance(low.get(k), list)), None)
    if listed is None:
        yield _paper_from_mapping(value, path, lines.at(pos))
        return
    for i, item in enumerate(listed, start=1):
        where = f"entry {i}"
        if isinstance(item, Mapping):
            yield _paper_from_mapping(item, path, 1, where)
        else:
            yield _problem(path, 1, f"{where} is not an object but {type(item).__name__}")


def _iter_json_array(path: Path, text: str, pos: int, lines: _LineCounter) -> Iterator[Paper | str]:
    """Decode a top-level array one element at a time, so each record knows the line it starts on."""
    decoder = json.JSONDecoder()
    pos = _JSON_WS.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    index = 0
    while True:
        index += 1
        line = lines.at(pos)
        try:
            value, pos = decoder.raw_decode(text, pos)
        except RecursionError:
            yield _problem(path, line, f"invalid JSON: entry {index} is nested too deeply")
            return
        except ValueError as exc:
            bad_line = lines.at(getattr(exc, "pos", pos))
            yield _problem(path, bad_line, f"invalid JSON: {getattr(exc, 'msg', exc)}")
            return
        if isinstance(value, Mapping):
            yield _paper_from_mapping(value, path, line, f"entry {index}")
        else:
            yield _problem(path, line, f"entry {index} is not an object but {type(value).__name__}")
        pos = _JSON_WS.match(text, pos).end()
        if text.startswith(",", pos):
            pos = _JSON_WS.match(text, pos + 1).end()
            continue
        if text.startswith("]", pos):
            if _JSON_WS.match(text, pos + 1).end() != len(text):
                yield _problem(path, lines.at(pos + 1), "invalid JSON: extra data after the list")
            return
        yield _problem(path, lines.at(pos), "invalid JSON: expected ',' or ']' after an entry")
        return


# --- CSV / TSV -------------------------------------------------------------------------------------------------


def _iter_table(path: Path, delimiter: str) -> Iterator[Paper | str]:
    bad: list[int] = []

    def decoded() -> Iterator[str]:
        for number, text, ok in _lines(path):
            if not ok:
                bad.append(number)  # the row that holds this line is reported instead of parsed
            yield text

    reader = csv.reader(decoded(), delimiter=delimiter)
    header: list[str] | None = None
    columns: dict[str, int] = {}
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
            yield _problem(path, start, f"cannot read this row: {reason}")
            if reader.line_num < start:  # no progress: stop rather than loop
                break
            continue
        if (bad_line := _first_bad(bad, start, reader.line_num)) is not None:
            yield _problem(path, bad_line, _NOT_UTF8)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            for i, name in enumerate(header):
                columns.setdefault(name, i)
            if not any(k in columns for k in _TITLE_KEYS) or not any(k in columns for k in _ABSTRACT_KEYS):
                shown = ", ".join(_short(h, 30) for h in header[:12])
                kind = "TSV" if delimiter == "\t" else "CSV"
                yield _problem(path, start, f"{kind} header needs 'title' and 'abstract' columns (found: {shown})")
                return
            continue
        record = {name: row[i] for name, i in columns.items() if i < len(row)}
        yield _paper_from_mapping(record, path, start, "row")


# --- BibTeX ----------------------------------------------------------------------------------------------------

_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _bib_authors(value: str) -> list[str]:
    """BibTeX "Last, First and Other, A." -> ["First Last", "A. Other"]."""
    names = []
    for part in _AND.split(value.strip()):
        pieces = [p.strip() for p in part.split(",")]
        if len(pieces) == 2 and all(pieces):
            part = f"{pieces[1]} {pieces[0]}"
        elif len(pieces) == 3 and all(pieces):
            part = f"{pieces[2]} {pieces[0]}, {pieces[1]}"  # "Last, Jr., First"
        if name := normalize_text(part):
            names.append(name)
    return names


def _paper_from_bib(entry: Entry, path: Path, line: int) -> Paper | str:
    fields = {f.key.lower(): f for f in entry.fields}

    def get(name: str) -> str:
        value = fields[name].value if name in fields else ""
        return value.strip() if isinstance(value, str) else ""

    key = entry.key.strip()
    title = normalize_text(get("title"))
    abstract = normalize_text(get("abstract"))
    if not title:
        return _problem(path, line, f"entry '{key}' has no title")
    if not abstract:
        return _problem(path, line, f"entry '{key}' has no abstract")
    arxiv = ""
    archive = (get("archiveprefix") or get("eprinttype")).lower()
    if get("eprint") and archive in ("", "arxiv"):
        arxiv = _arxiv_id(get("eprint"))
    arxiv = arxiv or _arxiv_id(get("url"), anywhere=True) or _arxiv_id(get("doi"), anywhere=True)
    arxiv = arxiv or _arxiv_id(get("journal"), anywhere=False)  # journal = {arXiv:2101.00001}
    published = _parse_date(get("date")) or _bib_date(get("year"), get("month"), get("day"))
    categories = _categories(get("primaryclass")) + _categories(get("keywords"))
    return Paper(
        id=arxiv or key or slugify(title),
        title=title,
        abstract=abstract,
        authors=_bib_authors(get("author")),
        published=published,
        url=get("url") or (_arxiv_url(arxiv) if arxiv else ""),
        categories=list(dict.fromkeys(categories)),
        source=str(path),
        line=line,
    )


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _parse_bibtex(text: str) -> bibtexparser.Library | str:
    """bibtexparser's library for a text, or the error message if it gave up."""
    splitter_log = logging.getLogger("bibtexparser.splitter")
    hush = _DropAll()
    splitter_log.addFilter(hush)  # it logs every broken block; our problem lines already say the same
    try:
        return bibtexparser.parse_string(text)
    except Exception as exc:  # a third-party parser on hostile input: report, never crash
        return str(exc) or type(exc).__name__
    finally:
        splitter_log.removeFilter(hush)


def _iter_bibtex(path: Path) -> Iterator[Paper | str]:
    # bibtexparser has no streaming API; .bib files are small (10k entries ~ 10 MB), so reading whole is fine.
    text, bad = _read_all(path)
    library = _parse_bibtex(text)
    if isinstance(library, str):
        yield _problem(path, 1, f"cannot parse BibTeX: {_short(library, 200)}")
        return
    for block in library.blocks:
        line = (block.start_line or 0) + 1  # bibtexparser counts lines from 0
        end = line + (block.raw or "").count("\n")
        if isinstance(block, DuplicateBlockKeyBlock):
            yield _problem(path, line, f"duplicate entry key '{block.key}' (the first one is kept)")
        elif isinstance(block, ParsingFailedBlock):
            error = block.error
            reason = getattr(error, "abort_reason", None) or getattr(error, "message", None) or str(error)
            reason = str(reason).strip() or "syntax error"
            yield _problem(path, line, f"cannot parse this BibTeX block: {_short(reason, 120)}")
        elif isinstance(block, Entry):
            if (bad_line := _first_bad(bad, line, end)) is not None:
                yield _problem(path, bad_line, _NOT_UTF8)
            else:
                yield _paper_from_bib(block, path, line)


# --- arXiv Atom XML --------------------------------------------------------------------------------------------

_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?entry(?=[\s/>])")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _paper_from_atom(entry: ET.Element, path: Path, line: int) -> Paper | str:
    title = summary = raw_id = published = url = ""
    authors: list[str] = []
    categories: list[str] = []
    for child in entry:
        name = _local(child.tag)
        text = "".join(child.itertext())
        if name == "title":
            title = normalize_text(text)
        elif name == "summary":
            summary = normalize_text(text)
        elif name == "id":
            raw_id = text.strip()
        elif name == "published" or (name == "updated" and not published):
            published = _parse_date(text) or published
        elif name == "author":
            authors += [normalize_text("".join(n.itertext())) for n in child if _local(n.tag) == "name"]
        elif name in ("category", "primary_category") and child.get("term"):
            categories.append(normalize_text(child.get("term", "")))
        elif name == "link" and child.get("rel", "alternate") == "alternate" and not url:
            url = (child.get("href") or "").strip()  # the abstract page; rel="related" is the PDF
    if "/api/errors" in raw_id:
        return _problem(path, line, f"the arXiv API returned an error: {_short(summary or title, 200)}")
    if not title:
        return _problem(path, line, "entry has no <title>")
    if not summary:
        return _problem(path, line, f"entry '{_short(title)}' has no <summary> (abstract)")
    arxiv = _arxiv_id(raw_id) or _arxiv_id(url, anywhere=True)
    return Paper(
        id=arxiv or raw_id or slugify(title),
        title=title,
        abstract=summary,
        authors=[a for a in authors if a],
        published=published,
        url=url or (raw_id if raw_id.startswith("http") else ""),
        categories=[c for c in dict.fromkeys(categories) if c],
        source=str(path),
        line=line,
    )


def _iter_arxiv(path: Path) -> Iterator[Paper | str]:
    parser = ET.XMLPullParser(events=("start", "end"))
    entry_lines: deque[int] = deque()  # line of each "<entry" seen in the bytes, in order
    line_base = 1  # line number at the start of the bytes not yet scanned for "<entry"
    held = b""  # the tail of a chunk that may hold a tag cut in two
    prolog: bytearray | None = bytearray()  # bytes before the root element, checked for a DTD
    depth = 0
    root: ET.Element | None = None
    last_line = 1
    open_entries: list[int] = []  # start lines of the entries being read (a root <entry> may hold one more)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_READ_CHUNK)
            if prolog is not None and chunk:
                prolog += chunk
                flat = bytes(prolog).replace(b"\x00", b"").upper()
                # Entity expansion ("billion laughs") needs a DTD; refuse any DTD before expat sees it.
                if b"<!DOCTYPE" in flat or b"<!ENTITY" in flat:
                    yield _problem(path, 1, "XML with a DOCTYPE/ENTITY declaration is refused (unsafe)")
                    return
                if len(prolog) > _XML_PROLOG_MAX:
                    yield _problem(path, 1, "no XML root element in the first 1 MB")
                    return
            # Hold back a trailing incomplete tag ("<ent") so an "<entry" cut by the chunk edge is still seen;
            # expat cannot report that element before the rest arrives either.
            scan = held + chunk
            cut = scan.rfind(b"<")
            if chunk and cut >= 0 and b">" not in scan[cut:] and len(scan) - cut < _XML_PROLOG_MAX:
                scan, held = scan[:cut], scan[cut:]
            else:
                held = b""
            for m in _ENTRY_TAG.finditer(scan):
                entry_lines.append(line_base + scan.count(b"\n", 0, m.start()))
            line_base += scan.count(b"\n")
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                for event, elem in parser.read_events():
                    if event == "start":
                        if root is None:
                            root, prolog = elem, None
                        if _local(elem.tag) == "entry" and depth <= 1:
                            last_line = entry_lines.popleft() if entry_lines else last_line
                            open_entries.append(last_line)
                        depth += 1
                        continue
                    depth -= 1
                    if _local(elem.tag) == "entry" and depth <= 1:
                        line = open_entries.pop() if open_entries else last_line
                        try:
                            record = _paper_from_atom(elem, path, line)
                        except RecursionError:
                            record = _problem(path, line, "entry is nested too deeply")
                        yield record
                        elem.clear()  # keep memory flat on a big feed
                        if root is not None and elem is not root:
                            try:
                                root.remove(elem)
                            except ValueError:
                                pass
            except ET.ParseError as exc:
                line = exc.position[0] if getattr(exc, "position", None) else 1
                msg = str(exc).split(":")[0]
                yield _problem(path, line, f"invalid XML: {msg}")
                return
            if not chunk:
                break
    if root is None:
        yield _problem(path, 1, "no XML content")


# --- Hugging Face daily papers page (copied as text) -----------------------------------------------------------

# Page chrome around the papers on huggingface.co/papers when the page is selected and copied.
_CHROME = {
    "new", "subscribe", "daily papers", "byak and the research community", "get trending papers in your email inbox!",
    "upvote", "submitted by", "daily", "weekly", "monthly", "trending", "papers", "search", "previous", "next",
}
_CHROME_RE = re.compile(
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?"  # "Aug 1", "Aug 1, 2023"
    r"|\d{4}-\d{2}-\d{2}"
    r"|\d+"  # upvote counts
    r"|(?:submitted by|published on)\b.*"
    r"|(?:\d+\s+)?(?:upvotes?|comments?|authors?)"
    r"|[·•\-–—|]+)",
    re.IGNORECASE,
)
_TITLE_MAX = 300  # demo titles have 23-129 characters, demo abstracts 1,401-1,918


def _is_chrome(text: str) -> bool:
    return text.lower() in _CHROME or _CHROME_RE.fullmatch(text) is not None


def _looks_like_title(text: str) -> bool:
    """Short and not a sentence: a title, not an abstract."""
    return len(text) <= _TITLE_MAX and not text.endswith(".") and len(text.split()) <= 40


def _paragraphs(path: Path) -> Iterator[tuple[int, str, int]]:
    """(first line, text, first undecodable line or 0) of each blank-line-separated paragraph."""
    start = bad = 0
    parts: list[str] = []
    for number, text, ok in _lines(path):
        if ok and not text.strip():
            if parts:
                yield start, " ".join(parts), bad
            parts, start, bad = [], 0, 0
            continue
        start = start or number
        bad = bad or (0 if ok else number)
        parts.append(text.strip())
    if parts:
        yield start, " ".join(parts), bad


def _iter_daily(path: Path) -> Iterator[Paper | str]:
    # The page is rendered text: a backslash or "&" in it is literal, so only whitespace is normalised
    # (the demo abstracts contain "\ie" and "10\%", kept as is in shared/eval/papers.jsonl).
    pending: tuple[int, str, int] | None = None  # (line, title, bad line) waiting for its abstract
    for start, text, bad in _paragraphs(path):
        text = _squash(text)
        if not text or _is_chrome(text):
            continue
        if pending is None:
            if _looks_like_title(text):
                pending = (start, text, bad)
            else:
                yield _problem(path, bad or start, _NOT_UTF8 if bad else
                               f"paragraph '{_short(text)}' has no title line before it")
            continue
        title_line, title, title_bad = pending
        if _looks_like_title(text):
            yield _problem(path, title_bad or title_line, _NOT_UTF8 if title_bad else
                           f"title '{_short(title)}' has no abstract after it")
            pending = (start, text, bad)
            continue
        pending = None
        if title_bad or bad:
            yield _problem(path, title_bad or bad, _NOT_UTF8)
        else:
            yield Paper(id=slugify(title), title=title, abstract=text, source=str(path), line=title_line)
    if pending is not None:
        title_line, title, title_bad = pending
        yield _problem(path, title_bad or title_line, _NOT_UTF8 if title_bad else
                       f"title '{_short(title)}' has no abstract after it")


# --- public API ------------------------------------------------------------------------------------------------

_PARSERS = {
    "daily": _iter_daily,
    "jsonl": _iter_jsonl,
    "json": _iter_json,
    "csv": lambda path: _iter_table(path, ","),
    "tsv": lambda path: _iter_table(path, "\t"),
    "bibtex": _iter_bibtex,
    "arxiv": _iter_arxiv,
}


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
        first = text.split("\n", 1)[0]
        value, error = _json_loads(first)
        return "jsonl" if error is None and isinstance(value, dict) else "json"
    if re.search(r"^[ \t]*@[A-Za-z]+[ \t]*[{(]", text, re.MULTILINE):
        return "bibtex"
    header = text.split("\n", 1)[0].lower()
    for fmt, sep in (("tsv", "\t"), ("csv", ",")):
        cells = {c.strip().strip('"').strip() for c in header.split(sep)}
        if sep in header and cells & set(_TITLE_KEYS) and cells & set(_ABSTRACT_KEYS):
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
        raise ParseError([_problem(path, 1, f"cannot read the file: {exc.strerror or exc}")]) from exc
    fmt = _sniff(head)
    if fmt is None and suffix in (".txt", ".md", ".text"):
        fmt = "daily"  # the daily page is saved as plain text; iter_records reports a .txt that is not text
    if fmt is None:
        raise ParseError([_problem(path, 1, f"cannot tell the format; use --format with one of: {', '.join(FORMATS)}")])
    return fmt


def iter_records(path: Path, fmt: str | None = None) -> Iterator[Paper | str]:
    """Stream a file: a Paper per good record, a "FILE:LINE: what is wrong" string per bad one."""
    path = Path(path)
    if fmt is None:
        fmt = detect_format(path)
    if fmt not in _PARSERS:
        raise ParseError([_problem(path, 1, f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")])
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
        if (problem := _binary_problem(path, head)) is not None:
            yield problem
            return
        yield from _PARSERS[fmt](path)
    except OSError as exc:
        yield _problem(path, 1, f"cannot read the file: {exc.strerror or exc}")


def parse_file(path: Path, fmt: str | None = None) -> tuple[list[Paper], list[str]]:
    """Parse a whole file: (papers, problem lines)."""
    papers: list[Paper] = []
    problems: list[str] = []
    for record in iter_records(path, fmt):
        (problems if isinstance(record, str) else papers).append(record)
    return papers, problems
