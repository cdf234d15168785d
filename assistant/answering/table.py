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
    "approach": r"\b(we propose|we present|we introduce|propose|framework|method|approach|model|architecture|module)",
    "supervision / data": r"\b(label|unlabel|supervis|annotat|dataset|data|pairs|training|pretrain|pre-train)",
    "evaluation / claims": r"\b(experiment|result|outperform|benchmark|state-of-the-art|evaluat|achiev|demonstrat|show)",
}
CUE_BONUS = 0.25
MIN_CELL_SCORE = 0.35
CELL_CHARS = 220


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
        rows = []
        for a, aspect in enumerate(ASPECTS):
            row = []
            for p, (sents, vecs) in zip(papers, per_paper, strict=True):
                row.append(_cell(aspect, vectors[a], sents, vecs, numbers[p.id]))
            rows.append(tuple(row))
        cols = tuple(Column(p.id, p.title, numbers[p.id]) for p in papers)
        return Table(tuple(ASPECTS), cols, tuple(rows))


def _cell(aspect: str, vector: np.ndarray, sents: list[str], vecs: np.ndarray, n: int) -> Cell:
    if not sents:
        return Cell(NOT_STATED)
    cue = np.array([CUE_BONUS if re.search(ASPECT_CUES[aspect], s, re.IGNORECASE) else 0.0 for s in sents])
    score = vecs @ vector + cue
    i = int(np.argmax(score))
    if score[i] < MIN_CELL_SCORE:
        return Cell(NOT_STATED)
    return Cell(shorten(sents[i]), n)


def renumber_table(table: Table, numbers: dict[str, int | None]) -> Table:
    """The table with its columns and cells numbered as in the final reference list."""
    cols = tuple(Column(c.id, c.title, numbers.get(c.id)) for c in table.papers)
    rows = tuple(tuple(Cell(cell.text, col.n if cell.citation is not None else None, cell.verdict)
                       for cell, col in zip(row, cols, strict=True)) for row in table.cells)
    return Table(table.aspects, cols, rows)


def shorten(sentence: str, limit: int = CELL_CHARS) -> str:
    """A sentence cut at a word boundary to at most `limit` characters."""
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"
