"""Typed records that cross layer boundaries (ingest -> store -> retrieval -> answering -> services -> entry points).

The storage encoding (flattened metadata, joined lists, date ints) never leaves assistant/store.py: everything
above it sees these records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Paper:
    """One paper as parsed from an input file."""

    id: str
    title: str
    abstract: str
    authors: list[str] = field(default_factory=list)
    published: str = ""  # ISO date "YYYY-MM-DD" (or "YYYY", "YYYY-MM") or ""
    url: str = ""
    categories: list[str] = field(default_factory=list)
    source: str = ""  # file the record came from
    line: int = 0  # line in that file where the record starts (for error messages)


def parse_date(text: str) -> dt.date | None:
    """'2023', '2023-08' or '2023-08-01' -> a date (missing month/day = 1); anything else -> None."""
    parts = (text or "").strip().split("-")
    if not parts[0].isdigit() or len(parts[0]) != 4:
        return None
    try:
        nums = [int(p) for p in parts[:3]] + [1] * (3 - len(parts[:3]))
        return dt.date(*nums)
    except ValueError:
        return None


@dataclass(frozen=True)
class StoredPaper:
    """A paper as the store holds it: lists are lists, the date is a date."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    published: dt.date | None = None
    published_text: str = ""  # the date as given in the input ("2023", "2023-08-01"), for display
    url: str = ""
    categories: tuple[str, ...] = ()
    content_hash: str = ""

    @property
    def key(self) -> str:
        """Cache key of this version of the paper: a changed abstract gets a new key."""
        return f"{self.id}@{self.content_hash}"

    @property
    def short_name(self) -> str:
        """The part of the title before ':' (usually the method's name)."""
        return self.title.split(":")[0].strip()


@dataclass(frozen=True)
class Chunk:
    """A piece of one paper's text, the unit embedded and stored."""

    id: str
    paper_id: str
    text: str  # what is embedded and indexed: title + chunk of abstract
    index: int
    n_chunks: int
    content_hash: str


@dataclass(frozen=True)
class PaperState:
    """What the store holds of one paper, for incremental ingest."""

    content_hash: str  # "" when chunks of two versions are mixed (an interrupted re-ingest)
    n_chunks: int  # chunks the paper should have
    chunk_ids: tuple[str, ...]  # chunks it has

    @property
    def complete(self) -> bool:
        """True when every chunk of one version is present."""
        return bool(self.content_hash) and self.n_chunks == len(self.chunk_ids)


@dataclass(frozen=True)
class Filters:
    """Metadata filters applied on both the dense and the lexical side."""

    since: dt.date | None = None  # inclusive
    until: dt.date | None = None
    author: str = ""  # case-insensitive substring of an author's name
    tag: str = ""  # exact category/tag (case-insensitive)
    ids: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, since: str = "", until: str = "", author: str = "", tag: str = "",
                  ids: tuple[str, ...] = ()) -> Filters:
        """Filters from user input (dates as YYYY, YYYY-MM or YYYY-MM-DD)."""
        return cls(parse_date(since), _end_of(until), author.strip(), tag.strip(), tuple(ids))

    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.since or self.until or self.author or self.tag or self.ids)

    def accepts(self, paper: StoredPaper) -> bool:
        """True when a paper passes every filter."""
        if self.since and (paper.published is None or paper.published < self.since):
            return False
        if self.until and (paper.published is None or paper.published > self.until):
            return False
        if self.author and not any(self.author.lower() in a.lower() for a in paper.authors):
            return False
        if self.tag and self.tag.lower() not in {t.lower() for t in paper.categories}:
            return False
        return not (self.ids and paper.id not in self.ids)

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) of each active filter, for display."""
        return [(label, str(value)) for label, value in (("since", self.since), ("until", self.until),
                                                          ("author", self.author), ("tag", self.tag)) if value]


def _end_of(text: str) -> dt.date | None:
    """The last day a partial date ('2023', '2023-08') covers, so 'until 2023' includes December."""
    start = parse_date(text)
    if start is None:
        return None
    parts = text.strip().split("-")
    if len(parts) == 1:
        return dt.date(start.year, 12, 31)
    if len(parts) == 2:
        nxt = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    return start


@dataclass(frozen=True)
class Source:
    """A retrieved paper, ranked, with the scores that ranked it."""

    paper: StoredPaper
    score: float
    dense: float = 0.0  # best chunk cosine similarity to the query
    lexical: float = 0.0  # BM25 score of the paper (raw)

    @property
    def id(self) -> str:
        return self.paper.id

    @property
    def title(self) -> str:
        return self.paper.title

    @property
    def abstract(self) -> str:
        return self.paper.abstract

    @property
    def url(self) -> str:
        return self.paper.url


@dataclass(frozen=True)
class Verdict:
    """The verifier's judgement of one claim against premise sentences."""

    label: str  # "supported" | "contradicted" | "not_enough_info"
    score: float  # calibrated P(supported)
    evidence: tuple[str, ...] = ()  # the premise sentence(s) that decided it
    reason: str = ""

    @property
    def supported(self) -> bool:
        return self.label == "supported"


@dataclass(frozen=True)
class Citation:
    """A paper cited in the final answer, numbered as shown to the user."""

    n: int
    id: str
    title: str
    url: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence of the final answer with its checked support."""

    text: str
    citations: tuple[int, ...]  # citation numbers (Citation.n)
    supported: bool
    evidence: str = ""  # the abstract sentence that decided the verdict
    support: float = 0.0  # the verdict's score
    verdict: str = "supported"  # supported | contradicted | not_enough_info


NOT_STATED = "not stated in the abstract"  # a table cell whose aspect no evidence sentence states


@dataclass(frozen=True)
class Cell:
    """One comparison-table cell: a short evidence phrase with its citation, or 'not stated'."""

    text: str
    citation: int | None = None
    verdict: str = ""  # the verifier's label for the phrase against its paper ("" when not stated)


@dataclass(frozen=True)
class Column:
    """One compared paper in the table."""

    id: str
    title: str
    n: int | None


@dataclass(frozen=True)
class Table:
    """Aspects x papers for comparative answers."""

    aspects: tuple[str, ...]
    papers: tuple[Column, ...]
    cells: tuple[tuple[Cell, ...], ...]  # one row per aspect, one cell per paper

    def as_json(self) -> dict:
        """The `table` field of `ask --json`."""
        return {"aspects": list(self.aspects),
                "papers": [{"id": c.id, "title": c.title, "n": c.n} for c in self.papers],
                "cells": [[{"text": c.text, "citation": c.citation, "verdict": c.verdict} for c in row]
                          for row in self.cells]}


@dataclass(frozen=True)
class Timings:
    """Milliseconds from the question to each stage of an answer (None: the stage did not happen)."""

    retrieve_ms: float | None = None
    first_sentence_ms: float | None = None  # first verified sentence available
    first_token_ms: float | None = None
    total_ms: float | None = None

    def as_json(self) -> dict:
        return {"retrieve_ms": self.retrieve_ms, "first_sentence_ms": self.first_sentence_ms,
                "first_token_ms": self.first_token_ms, "total_ms": self.total_ms}


@dataclass(frozen=True)
class Refusal:
    """Why a question was refused, for the UI, the CLI and the evaluation."""

    reason: str  # "no_papers" | "below_threshold" | "detail_missing" | ...
    detail: str = ""


@dataclass(frozen=True)
class Answer:
    """The complete, verified answer to one question."""

    question: str
    text: str
    refused: bool
    kind: str
    citations: tuple[Citation, ...]
    sources: tuple[Source, ...]
    sentences: tuple[Sentence, ...] = ()
    table: Table | None = None
    extractive: bool = False
    notice: str = ""
    timings: Timings = Timings()
    standalone_question: str = ""
    refusal: Refusal | None = None


@dataclass(frozen=True)
class ClaimCheck:
    """`paperchat verify`: one claim judged against each of several papers."""

    claim: str
    verdicts: tuple[tuple[Source, Verdict], ...]
