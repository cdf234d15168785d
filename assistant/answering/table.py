"""The comparison table: aspects x papers, each cell a short evidence phrase with its citation."""

from __future__ import annotations

import re
import threading

import numpy as np

from assistant.records import NOT_STATED, Cell, Column, Source, Table
from assistant.retrieval.hybrid import Library

ASPECTS = {
    "problem": "the problem, challenge or limitation the paper addresses",
    "approach": "the proposed method, model or framework and how it works",
    "supervision / data": "the data, labels or supervision used for training",
    "evaluation / claims": "experiments, benchmarks, results and claimed improvements",
}
ASPECT_CUES = {
    "problem": r"\b(problem|challenge|however|lack|limit|suffer|issue|difficult|costly|bottleneck|gap)",
    "approach": r"\b(we propose|we present|we introduce|propose|framework|method|approach|model|architecture|module"
                r"|we (?:first |then )?(?:build|design|develop|construct|devise|formulate|leverage|employ|train)"
                r"|our (?:method|approach|framework|model)|consists? of|based on)",
    "supervision / data": r"\b(label|unlabel|supervis|annotat|dataset|data|pairs|training|pretrain|pre-train)",
    "evaluation / claims": r"\b(experiment|result|outperform|benchmark|state-of-the-art|evaluat|achiev|demonstrat|show)",
}
CUE_BONUS = 0.25
MIN_CELL_SCORE = 0.35
CELL_WORDS = 25  # a cell is a phrase, not a sentence: the clause that carries the aspect, at most this many words
_CLAUSE = re.compile(r"\s*(?:[,;:]|\s—|\s-\s)\s+|\s+(?=(?:while|whereas|which|where|but|and then|so that|thereby)\b)")


class TableBuilder:
    """Builds comparison tables; the aspect descriptions are embedded once, on first use."""

    def __init__(self, library: Library):
        self.library = library
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def _aspect_vectors(self) -> np.ndarray:
        with self._lock:
            if self._vectors is None:
                self._vectors = self.library.embed(list(ASPECTS.values()))
            return self._vectors

    def build(self, papers: list[Source], numbers: dict[str, int]) -> Table:
        """Aspects x papers; each cell an evidence phrase with its citation, or NOT_STATED."""
        vectors = self._aspect_vectors()
        per_paper = self.library.sentences.get([p.paper for p in papers])
        columns = [_column(vectors, sents, vecs, numbers[p.id]) for p, (sents, vecs) in
                   zip(papers, per_paper, strict=True)]
        rows = tuple(tuple(col[a] for col in columns) for a in range(len(ASPECTS)))
        cols = tuple(Column(p.id, p.title, numbers[p.id]) for p in papers)
        return Table(tuple(ASPECTS), cols, rows)


def _column(vectors: np.ndarray, sents: list[str], vecs: np.ndarray, n: int) -> list[Cell]:
    """One paper's cells: the best (aspect, sentence) pairs first, each aspect and each phrase used once."""
    cells = [Cell(NOT_STATED) for _ in ASPECTS]
    if not sents:
        return cells
    pairs = []
    for a, aspect in enumerate(ASPECTS):
        cue = np.array([CUE_BONUS if re.search(ASPECT_CUES[aspect], s, re.IGNORECASE) else 0.0 for s in sents])
        for i, score in enumerate(vecs @ vectors[a] + cue):
            if score >= MIN_CELL_SCORE:
                pairs.append((float(score), a, i))
    done, shown = set(), set()
    for _, a, i in sorted(pairs, reverse=True):
        phrase = clip(sents[i], ASPECT_CUES[list(ASPECTS)[a]])
        if a in done or phrase in shown:
            continue
        cells[a] = Cell(phrase, n)
        done.add(a)
        shown.add(phrase)
    return cells


def clip(sentence: str, cue: str, limit: int = CELL_WORDS) -> str:
    """The clause of a sentence that carries the aspect's cue (else its first clause), at most `limit` words."""
    bounds, start = [], 0
    for m in _CLAUSE.finditer(sentence):
        if len(sentence[start:m.start()].split()) >= 4:  # a clause has a few words ("however," is not one)
            bounds.append((start, m.start()))
            start = m.end()
    bounds.append((start, len(sentence)))
    hit = re.search(cue, sentence, re.IGNORECASE)
    s, e = next(((s, e) for s, e in bounds if hit and s <= hit.start() < e), bounds[0])
    for s2, e2 in bounds[bounds.index((s, e)) + 1:]:  # a short clause, or a list's tail, joins the next one
        if not (len(sentence[s:e].split()) < 8 or len(sentence[s2:e2].split()) < 6) or \
                len(sentence[s:e2].split()) > limit:
            break
        e = e2
    return shorten(sentence[s:e].strip(" ,;:."), limit)


def renumber_table(table: Table, numbers: dict[str, int | None]) -> Table:
    """The table with its columns and cells numbered as in the final reference list."""
    cols = tuple(Column(c.id, c.title, numbers.get(c.id)) for c in table.papers)
    rows = tuple(tuple(Cell(cell.text, col.n if cell.citation is not None else None, cell.verdict)
                       for cell, col in zip(row, cols, strict=True)) for row in table.cells)
    return Table(table.aspects, cols, rows)


def shorten(text: str, limit: int = CELL_WORDS) -> str:
    """A phrase cut to at most `limit` words."""
    ws = text.split()
    return text if len(ws) <= limit else " ".join(ws[:limit]).rstrip(",;:") + "…"
