"""Select the papers an answer is about (and the sources shown), or refuse with the reason — from evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.kinds import get_kind
from assistant.records import Filters, Refusal, Source
from assistant.retrieval.hybrid import RERANK_DEPTH, Library, Query
from assistant.retrieval.names import names_paper
from assistant.text import evidence_sentences, words

from .understand import Understanding

# Refusal: the best paper must pass either bar (dense = best chunk cosine, lexical = BM25 of the paper).
# Calibrated on the dev questions (int8 embedder, chunker 2): answerable ones with BM25 < 5 score dense >= 0.45,
# off-corpus ones <= 0.39; the bar sits between.
MIN_DENSE = 0.42
MIN_DENSE_WITH_LEXICAL = 0.33
MIN_LEXICAL = 5.0
# Topic questions take every paper whose rerank score is at least this fraction of the best one.
TOPIC_RATIO = 0.8
SIDE_DEPTH = 3  # hits looked at per side of a comparison
_GENERIC = set(words("model models paper papers method report reported use used have has does do what how many much "
                     "long number size the a an is was are were for of in on"))


@dataclass(frozen=True)
class Selection:
    """The papers the answer is about, every source to show, and why it is refused when it is."""

    chosen: tuple[Source, ...]
    shown: tuple[Source, ...]
    named: tuple[str, ...] = ()  # ids the question names
    refusal: Refusal | None = None


def select(library: Library, query: Query, u: Understanding, k: int, filters: Filters | None) -> Selection:
    """The selection stage: the same ranking serves `ask --retrieve-only`, `eval` and every answer."""
    ranked = library.rank(query, k=max(k, RERANK_DEPTH), filters=filters)
    if not ranked:
        return Selection((), (), refusal=Refusal("no_papers", "no paper matches the question and filters"))
    named = [p for p in library.names.resolve(u.standalone, lambda text: library.search(library.query(text), 20))
             if not filters or filters.accepts(library.papers[p])]
    chosen = _choose(library, u, ranked, named, filters)
    refusal = None
    top = ranked[0][1]
    if not named and not answerable(top):
        refusal = Refusal("below_threshold", f"best paper scores dense {top.dense:.2f}, BM25 {top.lexical:.1f}")
    elif u.detail and not detail_present(u.standalone, chosen):
        refusal = Refusal("detail_missing", "no evidence sentence states the detail asked for")
    if refusal:
        chosen = []
    shown = chosen + [s for _, s in ranked if s.id not in {c.id for c in chosen}]
    return Selection(tuple(chosen), tuple(shown[: max(k, len(chosen))]), tuple(named), refusal)


def _choose(library: Library, u: Understanding, ranked: list[tuple[float, Source]], named: list[str],
            filters: Filters | None) -> list[Source]:
    by_id = {s.id: s for _, s in ranked}
    kind = get_kind(u.kind)
    if u.kind == "comparative":
        return compared(library, u, named, [s for _, s in ranked], filters)
    if u.kind == "topic":
        best = ranked[0][0]
        return [s for score, s in ranked[:RERANK_DEPTH] if score >= TOPIC_RATIO * best][:kind.max_papers]
    if named and (u.kind == "summary" or len(named) == 1):
        return [by_id.get(named[0]) or library.source(named[0])]
    return [ranked[0][1]]


def compared(library: Library, u: Understanding, named: list[str], ranked: list[Source],
             filters: Filters | None) -> list[Source]:
    """The papers a comparison is about: named ones, then one per remaining side, then the top ranked."""
    by_id = {s.id: s for s in ranked}
    limit = get_kind("comparative").max_papers
    chosen = [by_id.get(p) or library.source(p) for p in named[:limit]]
    for side in u.sides:
        if len(chosen) >= min(limit, max(len(u.sides), 2)):
            break
        if any(names_paper(side, c.paper) for c in chosen):
            continue  # this side is a paper already resolved by name
        for s in library.search(library.query(side), k=SIDE_DEPTH, filters=filters):
            if s.id not in {c.id for c in chosen}:
                chosen.append(by_id.get(s.id) or s)
                break
    for s in ranked:
        if len(chosen) >= 2:
            break
        if s.id not in {c.id for c in chosen}:
            chosen.append(s)
    return chosen


def answerable(top: Source) -> bool:
    """True when the best paper passes the calibrated similarity bars."""
    return top.dense >= MIN_DENSE or (top.lexical >= MIN_LEXICAL and top.dense >= MIN_DENSE_WITH_LEXICAL)


def detail_present(question: str, papers: list[Source]) -> bool:
    """True when some evidence sentence of the papers states the detail the question asks for."""
    names = set()
    for p in papers:
        names |= set(words(p.paper.short_name))
    wanted = set(words(question)) - _GENERIC - names
    if not wanted:
        return True
    needs_number = re.match(r"\s*how (many|much|long)\b", question, re.IGNORECASE) is not None
    for p in papers:
        for sent in evidence_sentences(p.abstract):  # the texts only: no embedding or store read needed
            if needs_number and not re.search(r"\d", sent):
                continue
            if len(wanted & set(words(sent))) / len(wanted) >= 0.6:
                return True
    return False
