"""The answer path, stage by stage: understand -> select -> evidence -> (draft) -> phrase -> verify -> table."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from assistant.errors import LLMError
from assistant.kinds import get_kind
from assistant.prompts import NOT_FOUND, NOT_FOUND_KEY, Prompts
from assistant.records import Answer, Citation, Filters, Sentence, Source, Table, Timings
from assistant.retrieval.hybrid import Library, Query

from .cite import CitableSource, attribute, render, renumber
from .evidence import select_evidence
from .extractive import extractive_sentences
from .phrase import TextModel, messages, phrase
from .select import Selection, select
from .table import TableBuilder, renumber_table
from .understand import Understanding, understand
from .verification import Judge, Verifier

log = logging.getLogger(__name__)
EXTRACTIVE_NOTICE = "Extractive answer: sentences quoted from the abstracts, no LLM."


@dataclass
class Event:
    """A step of a streamed answer: sources, a verified draft, LLM text deltas, then the final verified answer."""

    kind: str  # "sources" | "draft" | "delta" | "sentence" | "answer"
    sources: list[Source] = field(default_factory=list)
    text: str = ""
    answer: Answer | None = None
    sentence: Sentence | None = None  # a verified sentence of the LLM's text, as soon as it is complete


@dataclass
class _Work:
    """What one answer carries from stage to stage."""

    u: Understanding
    query: Query
    selection: Selection
    numbers: dict[str, int]
    evidence: dict[str, list[str]]
    citable: list[CitableSource]
    verifier: Verifier
    table: Table | None
    t0: float
    retrieve_ms: float


class Answerer:
    """Runs the stages for one store; shared by CLI, UI and evaluation through the assistant service."""

    def __init__(self, library: Library, prompts: Prompts, llm: Callable[[], TextModel], judge: Judge,
                 unsupported: str = "flag"):
        self.library = library
        self.prompts = prompts
        self._llm = llm
        self.judge = judge
        self.unsupported = unsupported
        self.tables = TableBuilder(library)

    def understand(self, question: str, history: Sequence[tuple[str, Answer]] = (),
                   kind: str | None = None) -> Understanding:
        """The understanding stage alone (follow-up rewriting, kind, sides)."""
        return understand(question, history, kind, self.library)

    def select(self, u: Understanding, k: int, filters: Filters | None = None) -> tuple[Query, Selection]:
        """The selection stage alone: what `ask --retrieve-only` and `eval` measure."""
        query = self.library.query(u.standalone)
        return query, select(self.library, query, u, k, filters)

    def stream(self, question: str, history: Sequence[tuple[str, Answer]] = (), kind: str | None = None,
               filters: Filters | None = None, use_llm: bool = True, k: int = 5) -> Iterator[Event]:
        """Sources first, then a verified extractive draft, then LLM text deltas, then the verified Answer."""
        t0 = time.perf_counter()
        u = self.understand(question, history, kind)
        query, sel = self.select(u, k, filters)
        retrieve_ms = _ms(t0)
        yield Event("sources", sources=list(sel.shown))
        if not sel.chosen:
            yield Event("answer", answer=self._refused(u, sel, Timings(retrieve_ms, total_ms=_ms(t0))))
            return
        work = self._prepare(u, query, sel, t0, retrieve_ms)
        quotes = work.verifier.sentences(extractive_sentences(u.kind, list(sel.chosen), work.evidence, work.numbers))
        draft = self._finish(work, quotes, EXTRACTIVE_NOTICE, True, first_token_ms=None, first_sentence_ms=_ms(t0))
        if not use_llm:
            yield Event("answer", answer=draft)
            return
        yield Event("draft", answer=draft)
        yield from self._phrase(work, draft, quotes)

    def _prepare(self, u: Understanding, query: Query, sel: Selection, t0: float, retrieve_ms: float) -> _Work:
        chosen = list(sel.chosen)
        numbers = {p.id: i + 1 for i, p in enumerate(chosen)}
        evidence = select_evidence(self.library, query, u.kind, chosen)
        vecs = self.library.sentences.get([p.paper for p in chosen])
        titles = self.library.embed([p.title for p in chosen])
        citable = [CitableSource.from_parts(numbers[p.id], p.id, p.title, p.url, sents, v, tv)
                   for p, (sents, v), tv in zip(chosen, vecs, titles, strict=True)]
        verifier = Verifier(self.judge, citable)
        table = verifier.table(self.tables.build(chosen, numbers)) if get_kind(u.kind).table else None
        return _Work(u, query, sel, numbers, evidence, citable, verifier, table, t0, retrieve_ms)

    def _phrase(self, work: _Work, draft: Answer, quotes: list[Sentence]) -> Iterator[Event]:
        system, user = messages(self.prompts, work.u.kind, work.u.standalone, list(work.selection.chosen),
                                work.numbers, work.evidence)
        text, first_token_ms, done = "", None, _Verified(work, self.library)
        try:
            for delta in phrase(self._llm(), system, user, work.u.kind, {c.n: c.title for c in work.citable}):
                if first_token_ms is None:
                    first_token_ms = _ms(work.t0)
                text += delta
                yield Event("delta", text=delta)
                for sentence in done.complete(text):  # verified while the model writes the next one
                    yield Event("sentence", sentence=sentence)
        except LLMError as exc:
            log.warning("LLM failed: %s", exc)
            notice = f"{exc}. This is an extractive answer built from the abstracts without an LLM."
            yield Event("answer", answer=_fallback(draft, notice, first_token_ms, work.t0))
            return
        sentences = done.all(text)
        if not any(s.supported for s in sentences):  # the verified draft loses nothing
            notice = ("The model said the abstracts do not answer this, but retrieval found evidence: showing the "
                      "evidence instead." if NOT_FOUND_KEY in text.lower() else
                      "The model's answer could not be checked against the abstracts: showing the evidence.")
            yield Event("answer", answer=_fallback(draft, notice, first_token_ms, work.t0))
            return
        yield Event("answer", answer=self._finish(work, sentences + _uncovered(sentences, quotes), "", False,
                                                  first_token_ms, draft.timings.first_sentence_ms))

    def _finish(self, work: _Work, sentences: list[Sentence], notice: str, extractive: bool,
                first_token_ms: float | None, first_sentence_ms: float | None) -> Answer:
        sentences, citations = renumber(sentences, work.citable)
        table = work.table
        if table is not None:
            citations = _cite_columns(citations, list(work.selection.chosen))  # every column is cited
            table = renumber_table(table, {c.id: c.n for c in citations})
        kept = tuple(s for s in sentences if s.supported or self.unsupported == "flag")
        return Answer(question=work.u.question, text=render(sentences, self.unsupported), refused=False,
                      kind=work.u.kind, citations=tuple(citations), sources=work.selection.shown, sentences=kept,
                      table=table, extractive=extractive, notice=notice,
                      timings=Timings(work.retrieve_ms, first_sentence_ms, first_token_ms, _ms(work.t0)),
                      standalone_question=_standalone(work.u))

    def _refused(self, u: Understanding, sel: Selection, timings: Timings) -> Answer:
        return Answer(question=u.question, text=NOT_FOUND, refused=True, kind=u.kind, citations=(),
                      sources=sel.shown, timings=timings, standalone_question=_standalone(u), refusal=sel.refusal)


class _Verified:
    """The LLM's sentences, attributed and verified once each, as soon as each is complete."""

    def __init__(self, work: _Work, library: Library):
        self.work = work
        self.library = library
        self.done: list[Sentence] = []
        self._consumed = 0  # characters of the text whose sentences are verified

    def complete(self, text: str) -> list[Sentence]:
        """Verify the sentences that ended since the last call (the last, unfinished one waits)."""
        cut = _last_boundary(text)
        if cut <= self._consumed:
            return []
        new = self._verify(text[self._consumed:cut])
        self._consumed = cut
        self.done += new
        return new

    def all(self, text: str) -> list[Sentence]:
        """Every sentence of the final text, verified; a last sentence the token budget cut off is dropped."""
        rest = text[self._consumed:]
        if self.done and rest.strip() and not _ENDED.search(rest):
            rest = ""
        if rest:
            self.done += self._verify(rest)
        self._consumed = len(text)
        return self.done

    def _verify(self, text: str) -> list[Sentence]:
        return self.work.verifier.sentences(attribute(text, self.work.citable, self.library.embed))


_ENDED = re.compile(r"[.!?][\"')]?(?:\s*\[[\d,;\s-]+\])*[.]?\s*$")  # text that ends a sentence


def _last_boundary(text: str) -> int:
    """End of the last complete sentence: a full stop (after its citation markers) followed by whitespace."""
    best = 0
    for m in re.finditer(r"[.!?](?:\s*\[[\d,;\s-]+\])*(?=\s+[A-Z\[(\"'])|\n\s*\n", text):
        best = m.end()
    return best


def _fallback(draft: Answer, notice: str, first_token_ms: float | None, t0: float) -> Answer:
    """The verified draft, with why the LLM's text is not shown."""
    return replace(draft, notice=notice, timings=replace(draft.timings, first_token_ms=first_token_ms,
                                                         total_ms=_ms(t0)))


def _cite_columns(citations: list[Citation], papers: list[Source]) -> list[Citation]:
    """Comparison table columns are cited even if the prose cited only one side."""
    have = {c.id for c in citations}
    out = list(citations)
    for p in papers:
        if p.id not in have:
            out.append(Citation(len(out) + 1, p.id, p.title, p.url))
    return out


def _standalone(u: Understanding) -> str:
    return u.standalone if u.standalone != u.question else ""


def _uncovered(sentences: list[Sentence], quotes: list[Sentence]) -> list[Sentence]:
    """The verified extracts of the selected papers the LLM's text does not cite: a topic answer lists every paper
    selection found even when the model wrote about fewer (dev topic questions: it cited 7 of 11 gold papers)."""
    cited = {n for s in sentences if s.supported for n in s.citations}
    return [q for q in quotes if q.supported and q.citations and not set(q.citations) & cited]


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
