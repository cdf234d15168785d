"""Field values shared by every format: arXiv ids, dates, author lists, categories."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from ingest.text import normalize_text

# New style since 2007 (0704.0001, 4 digits; 5 digits since 2015) and old style archive/YYMMNNN (hep-th/9901001).
_ARXIV_CORE = r"(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_ARXIV_BARE = re.compile(rf"(?:arxiv:\s*)?({_ARXIV_CORE})(?:v\d+)?", re.IGNORECASE)
_ARXIV_IN_URL = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|10\.48550/arxiv\.|huggingface\.co/papers/)({_ARXIV_CORE})(?:v\d+)?",
    re.IGNORECASE,
)

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
MONTH = r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    (re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"), ("y", "m", "d")),
    (re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH},?\s+(\d{{4}})", re.I), ("d", "M", "y")),
    (re.compile(rf"{MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", re.I), ("M", "d", "y")),
    (re.compile(rf"{MONTH},?\s+(\d{{4}})", re.I), ("M", "y")),
    (re.compile(r"^(\d{4})[-/](\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{4})$"), ("y",)),
)
_CATEGORY_TOKEN = re.compile(r"[a-z][a-z\-]*\.[A-Za-z\-]+|[a-z][a-z\-]+")


def arxiv_id(value: str, anywhere: bool = False) -> str:
    """The version-less arXiv id in an id field (or, if anywhere, in a URL/DOI), else ""."""
    value = value.strip()
    if anywhere:
        m = _ARXIV_IN_URL.search(value)
        return m.group(1) if m else ""
    m = _ARXIV_BARE.fullmatch(value)
    if not m:
        m = _ARXIV_IN_URL.search(value)
    return m.group(1) if m else ""


def arxiv_url(arxiv: str) -> str:
    """The abstract page of an arXiv id."""
    return f"https://arxiv.org/abs/{arxiv}"


def scalar(value: Any) -> str | None:
    """Text of a str/int/float value; None for anything else (bool, list, dict, None)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_date(value: Any) -> str:
    """An ISO "YYYY-MM-DD" for a date in any common spelling, else ""; never raises."""
    text = (scalar(value) or "").strip()[:100]
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


def month_number(month: str) -> int | None:
    """1-12 for "jan", "January" or "1"; None otherwise."""
    m = re.fullmatch(r"(?:(\d{1,2})|" + MONTH + r")", month.strip(), re.IGNORECASE)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else _MONTHS[m.group(2)[:3].lower()]


def authors(value: Any) -> list[str]:
    """Author names from a list of str, a list of {"name": ...} or one "A; B" / "A, B and C" string."""
    if isinstance(value, str):
        parts = value.split(";") if ";" in value else re.split(r",|\s+and\s+", value)
        return [p for p in (normalize_text(p) for p in parts) if p]
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("name")
        text = scalar(item)
        if text and (name := normalize_text(text)):
            names.append(name)
    return names


def categories(value: Any) -> list[str]:
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
        text = scalar(item)
        if text and (tag := normalize_text(text)) and tag not in out:
            out.append(tag)
    return out
