"""arXiv API / Atom feeds to Paper records, streamed with lxml: no DTD, no entities, no network."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from assistant.records import Paper
from ingest import fields
from ingest.text import normalize_text, shorten, slugify
from ingest.textfile import problem

# libxml2's words for the common mistakes, said the short way users of the previous (expat) parser saw them.
_SHORT_ERRORS = {
    etree.ErrorTypes.ERR_TAG_NAME_MISMATCH: "mismatched tag",
    etree.ErrorTypes.ERR_DOCUMENT_END: "junk after document element",
    etree.ErrorTypes.ERR_DOCUMENT_EMPTY: "no element found",
    etree.ErrorTypes.ERR_ATTRIBUTE_REDEFINED: "duplicate attribute",
    etree.ErrorTypes.NS_ERR_UNDEFINED_NAMESPACE: "unbound prefix",
    etree.ErrorTypes.ERR_UNDECLARED_ENTITY: "undefined entity",
}
_WHERE = re.compile(r",? use XML_PARSE_HUGE option|, line \d+, column \d+$")


def _local(tag: Any) -> str:
    """An element's name without its namespace; "" for comments and processing instructions."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(elem: etree._Element) -> str:
    return "".join(elem.itertext())


def _paper_from_entry(entry: etree._Element, path: Path, line: int) -> Paper | str:
    """A Paper from one <entry>, or a problem line (an arXiv API error, a missing title or summary)."""
    title = summary = raw_id = published = url = ""
    authors: list[str] = []
    categories: list[str] = []
    for child in entry:
        name = _local(child.tag)
        if name == "title":
            title = normalize_text(_text(child))
        elif name == "summary":
            summary = normalize_text(_text(child))
        elif name == "id":
            raw_id = _text(child).strip()
        elif name == "published" or (name == "updated" and not published):
            published = fields.parse_date(_text(child)) or published
        elif name == "author":
            authors += [normalize_text(_text(n)) for n in child if _local(n.tag) == "name"]
        elif name in ("category", "primary_category") and child.get("term"):
            categories.append(normalize_text(child.get("term", "")))
        elif name == "link" and child.get("rel", "alternate") == "alternate" and not url:
            url = (child.get("href") or "").strip()  # the abstract page; rel="related" is the PDF
    if "/api/errors" in raw_id:
        return problem(path, line, f"the arXiv API returned an error: {shorten(summary or title, 200)}")
    if not title:
        return problem(path, line, "entry has no <title>")
    if not summary:
        return problem(path, line, f"entry '{shorten(title)}' has no <summary> (abstract)")
    arxiv = fields.arxiv_id(raw_id) or fields.arxiv_id(url, anywhere=True)
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


def _drop(elem: etree._Element) -> None:
    """Free a finished entry and the siblings before it, so a big feed is read in flat memory."""
    elem.clear(keep_tail=True)
    parent = elem.getparent()
    while parent is not None and elem.getprevious() is not None:
        del parent[0]


def _entries(path: Path, events: etree.iterparse) -> Iterator[tuple[etree._Element, int] | str]:
    """(entry, line) for each <entry> that is the root or a child of it; one problem line for a DTD."""
    depth = 0
    for event, elem in events:
        if event == "start":
            # Entities are never expanded here, but a DTD is only there to declare them ("billion laughs").
            if depth == 0 and elem.getroottree().docinfo.internalDTD is not None:
                yield problem(path, 1, "XML with a DOCTYPE/ENTITY declaration is refused (unsafe)")
                return
            depth += 1
            continue
        depth -= 1
        if _local(elem.tag) == "entry" and depth <= 1:
            yield elem, elem.sourceline or 1
            _drop(elem)


def _syntax_problem(path: Path, exc: etree.XMLSyntaxError, log: etree._ListErrorLog) -> str:
    """The problem line for the first XML error, with the line libxml2 found it on."""
    # With resolve_entities=False lxml raises a bare "no element found" at line 0 for some errors (an undefined
    # entity); the parser's own log has the real one. The exception's error_log is shared and may be stale.
    last = log.last_error
    if exc.lineno or last is None:
        code, line, message = exc.code, exc.lineno, exc.msg
    else:
        code, line, message = last.type, last.line, last.message
    reason = _SHORT_ERRORS.get(code) or _WHERE.sub("", message or "").strip() or "syntax error"
    return problem(path, max(line or 1, 1), f"invalid XML: {reason}")


def iter_arxiv(path: Path) -> Iterator[Paper | str]:
    """A Paper per <entry>, at the line of its start tag; the first XML error ends the file."""
    events = etree.iterparse(str(path), events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False)
    try:
        for item in _entries(path, events):
            yield item if isinstance(item, str) else _paper_from_entry(item[0], path, item[1])
    except etree.XMLSyntaxError as exc:
        yield _syntax_problem(path, exc, events.error_log)
