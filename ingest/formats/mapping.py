"""A Paper from one key/value record (a JSON object or a CSV row), whatever the exporter called its fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from assistant.records import Paper
from ingest import fields
from ingest.text import normalize_text, slugify
from ingest.textfile import problem

# Field aliases, most specific first. An arXiv id wins over any other id wherever it is found.
TITLE_KEYS = ("title",)
ABSTRACT_KEYS = ("abstract", "summary", "text")
_ID_KEYS = ("id", "arxiv_id", "arxivid", "paper_id", "_id")
_AUTHOR_KEYS = ("authors", "author")
_DATE_KEYS = ("published", "date", "publishedat", "published_at", "year")
_URL_KEYS = ("url", "link")
_CATEGORY_KEYS = ("categories", "category", "tags")
_EMPTY = (None, "", [], {})


def lower_keys(obj: Mapping) -> dict[str, Any]:
    """The string keys of obj stripped and lowercased; the first spelling of a key wins."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, str):
            out.setdefault(key.strip().lower(), value)
    return out


def _pick(obj: Mapping[str, Any], keys: Iterable[str]) -> Any:
    """The first present, non-empty value among keys."""
    for key in keys:
        value = obj.get(key)
        if value not in _EMPTY:
            return value
    return None


def _flatten(obj: Mapping) -> dict[str, Any]:
    """Lowercased keys, with a Hugging Face {"paper": {...}} inner record merged over the outer one."""
    rec = lower_keys(obj)
    inner = rec.get("paper")
    if not isinstance(inner, Mapping):
        return rec
    # HF daily-papers API: {"paper": {id, title, summary, authors, publishedAt}, "title": ..., ...};
    # the inner paper is the arXiv record, the outer entry only fills gaps.
    merged = {k: v for k, v in rec.items() if k != "paper"}
    merged.update({k: v for k, v in lower_keys(inner).items() if v not in _EMPTY})
    return merged


def _ids(rec: Mapping[str, Any], url: str) -> tuple[str, str]:
    """(the first id given, the arXiv id found in any id field, the URL or the DOI)."""
    given = arxiv = ""
    for key in _ID_KEYS:
        text = fields.scalar(rec.get(key))
        if text and text.strip():
            given = given or text.strip()
            arxiv = arxiv or fields.arxiv_id(text)
    doi = fields.scalar(rec.get("doi")) or ""
    arxiv = arxiv or fields.arxiv_id(url, anywhere=True) or fields.arxiv_id(doi, anywhere=True)
    return given, arxiv


def paper_from_mapping(obj: Mapping, path: Path, line: int, where: str = "record") -> Paper | str:
    """A Paper from one generic or Hugging Face-shaped object, or a problem line saying what is missing."""
    rec = _flatten(obj)
    text: dict[str, str] = {}
    for name, keys in (("title", TITLE_KEYS), ("abstract", ABSTRACT_KEYS)):
        value = _pick(rec, keys)
        if value is None:
            return problem(path, line, f"{where} has no {name} (expected a field {' / '.join(keys)})")
        raw = fields.scalar(value)
        if raw is None:
            return problem(path, line, f"{where}: field '{name}' should be text, not {type(value).__name__}")
        text[name] = normalize_text(raw)
        if not text[name]:
            return problem(path, line, f"{where} has an empty {name}")
    url = fields.scalar(_pick(rec, _URL_KEYS)) or ""
    given, arxiv = _ids(rec, url)
    return Paper(
        id=arxiv or given or slugify(text["title"]),
        title=text["title"],
        abstract=text["abstract"],
        authors=fields.authors(_pick(rec, _AUTHOR_KEYS)),
        published=fields.parse_date(_pick(rec, _DATE_KEYS)),
        url=url.strip() or (fields.arxiv_url(arxiv) if arxiv else ""),
        categories=fields.categories(_pick(rec, _CATEGORY_KEYS)),
        source=str(path),
        line=line,
    )
