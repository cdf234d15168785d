"""The Hugging Face Daily Papers page, selected and copied as text: title paragraph, abstract paragraph."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from assistant.records import Paper
from ingest.fields import MONTH
from ingest.text import shorten, slugify, squash
from ingest.textfile import NOT_UTF8, problem, read_lines

# Page chrome around the papers on huggingface.co/papers when the page is selected and copied.
_CHROME = {
    "new", "subscribe", "daily papers", "byak and the research community", "get trending papers in your email inbox!",
    "upvote", "submitted by", "daily", "weekly", "monthly", "trending", "papers", "search", "previous", "next",
}
_CHROME_RE = re.compile(
    rf"(?:{MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?"  # "Aug 1", "Aug 1, 2023"
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
    for number, text, ok in read_lines(path):
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


def _lone_title(path: Path, pending: tuple[int, str, int]) -> str:
    """The problem line for a title paragraph with no abstract after it."""
    title_line, title, title_bad = pending
    return problem(path, title_bad or title_line, NOT_UTF8 if title_bad else
                   f"title '{shorten(title)}' has no abstract after it")


def iter_daily(path: Path) -> Iterator[Paper | str]:
    """A Paper per title paragraph followed by an abstract paragraph; page chrome is skipped."""
    # The page is rendered text: a backslash or "&" in it is literal, so only whitespace is normalised
    # (the demo abstracts contain "\ie" and "10\%", kept as is in shared/eval/papers.jsonl).
    pending: tuple[int, str, int] | None = None  # (line, title, bad line) waiting for its abstract
    for start, text, bad in _paragraphs(path):
        text = squash(text)
        if not text or _is_chrome(text):
            continue
        if pending is None:
            if _looks_like_title(text):
                pending = (start, text, bad)
            else:
                yield problem(path, bad or start, NOT_UTF8 if bad else
                              f"paragraph '{shorten(text)}' has no title line before it")
            continue
        if _looks_like_title(text):
            yield _lone_title(path, pending)
            pending = (start, text, bad)
            continue
        (title_line, title, title_bad), pending = pending, None
        if title_bad or bad:
            yield problem(path, title_bad or bad, NOT_UTF8)
        else:
            yield Paper(id=slugify(title), title=title, abstract=text, source=str(path), line=title_line)
    if pending is not None:
        yield _lone_title(path, pending)
