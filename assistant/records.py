"""Small records that cross module boundaries (ingest -> store -> retrieve -> answer -> ui)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Paper:
    """One paper as parsed from an input file."""

    id: str
    title: str
    abstract: str
    authors: list[str] = field(default_factory=list)
    published: str = ""  # ISO date "YYYY-MM-DD" or ""
    url: str = ""
    categories: list[str] = field(default_factory=list)
    source: str = ""  # file the record came from
    line: int = 0  # line in that file where the record starts (for error messages)


@dataclass
class Chunk:
    """A piece of one paper's text, the unit stored in Chroma."""

    id: str
    paper_id: str
    text: str  # what is embedded and indexed: title + chunk of abstract
    index: int
    metadata: dict


@dataclass
class Source:
    """A retrieved paper, ranked, with its abstract for evidence selection."""

    id: str
    title: str
    abstract: str
    score: float
    dense: float = 0.0  # best chunk cosine similarity to the query
    lexical: float = 0.0  # best chunk BM25 score (raw)
    metadata: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.metadata.get("url", ""))

    @property
    def authors(self) -> str:
        return str(self.metadata.get("authors", ""))


@dataclass
class Evidence:
    """One abstract sentence selected as evidence for a question."""

    paper_id: str
    text: str
    score: float


@dataclass
class Citation:
    """A paper cited in the final answer, numbered as shown to the user."""

    n: int
    id: str
    title: str
    url: str = ""


@dataclass
class Sentence:
    """One sentence of the final answer with its checked support."""

    text: str
    citations: list[int]  # citation numbers (Citation.n)
    supported: bool
    evidence: str = ""  # the abstract span that supports it
    support: float = 0.0


@dataclass
class Answer:
    """The complete, verified answer to one question."""

    question: str
    text: str
    refused: bool
    kind: str
    citations: list[Citation]
    sources: list[Source]
    sentences: list[Sentence] = field(default_factory=list)
    table: dict | None = None
    extractive: bool = False
    notice: str = ""
    timings: dict = field(default_factory=dict)
    standalone_question: str = ""
