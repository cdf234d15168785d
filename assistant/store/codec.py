"""How papers are laid out in Chroma: flat metadata ("; "-joined lists, the date as a sortable int), decoded here
and nowhere else; Chroma itself is driven from assistant/store/__init__.py."""

from __future__ import annotations

from collections.abc import Iterator

from assistant.records import Filters, Paper, PaperState, StoredPaper, parse_date

_PAGE = 5000  # rows per Chroma get() call when reading the whole collection
_SEP = "; "


def encode_paper(paper: Paper) -> dict:
    """A paper's fields as flat Chroma metadata."""
    date = parse_date(paper.published)
    return {"paper_id": paper.id, "title": paper.title, "abstract": paper.abstract,
            "authors": _SEP.join(paper.authors), "published": paper.published,
            "published_int": int(date.strftime("%Y%m%d")) if date else 0, "url": paper.url,
            "categories": _SEP.join(paper.categories), "source": paper.source}


def decode_paper(meta: dict) -> StoredPaper:
    """Flat Chroma metadata back to the typed paper."""
    text = str(meta.get("published", "") or "")
    return StoredPaper(id=str(meta.get("paper_id", "")), title=str(meta.get("title", "")),
                       abstract=str(meta.get("abstract", "")), authors=_split(meta.get("authors")),
                       published=parse_date(text), published_text=text, url=str(meta.get("url", "") or ""),
                       categories=_split(meta.get("categories")), content_hash=str(meta.get("content_hash", "")))


def _split(value) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(value or "").split(";") if p.strip())


def _pages(collection, include: list[str]) -> Iterator[dict]:
    """A collection's rows, page by page."""
    offset = 0
    while True:
        page = collection.get(include=include, limit=_PAGE, offset=offset)
        yield page
        if len(page["ids"]) < _PAGE:
            return
        offset += _PAGE


def _states_from_chunks(rows: Iterator[tuple[str, str, dict]]) -> dict[str, PaperState]:
    """Paper states from every chunk's metadata: the bookkeeping of stores written by an earlier paperchat."""
    seen: dict[str, tuple[str, int, list[str]]] = {}
    for cid, _, meta in rows:
        pid, h, n = str(meta.get("paper_id", "")), str(meta.get("content_hash", "")), int(meta.get("n_chunks", 0))
        old = seen.get(pid)
        # Two hashes for one paper means an interrupted re-ingest; "" marks it for rewriting.
        seen[pid] = (h, n, [cid]) if old is None else (old[0] if old[0] == h else "", n, old[2] + [cid])
    return {pid: PaperState(h, n, tuple(ids)) for pid, (h, n, ids) in seen.items()}


def _where(filters: Filters | None) -> dict | None:
    """The part of the filters Chroma can apply itself (dates, ids); author/tag are checked on decoded papers."""
    conds: list[dict] = []
    if filters and filters.since:
        conds.append({"published_int": {"$gte": int(filters.since.strftime("%Y%m%d"))}})
    if filters and filters.until:
        conds.append({"published_int": {"$lte": int(filters.until.strftime("%Y%m%d"))}})
    if filters and filters.ids:
        conds.append({"paper_id": {"$in": list(filters.ids)}})
    return (conds[0] if len(conds) == 1 else {"$and": conds}) if conds else None
