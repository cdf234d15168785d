"""The lexical side: BM25 (bm25s, Snowball stemming via PyStemmer) over title + abstract, one document per paper."""

from __future__ import annotations

import logging

import numpy as np

from assistant.records import StoredPaper
from assistant.text import words

TITLE_REPEAT = 2  # the title counts twice in the BM25 document: titles name the method
BM25_K1, BM25_B = 1.2, 0.75


class LexicalIndex:
    """BM25 over papers, built in memory from the papers given."""

    def __init__(self, papers: list[StoredPaper]):
        self.ids = [p.id for p in papers]
        self._bm25 = None
        if papers:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
            self._bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            self._bm25.index([document_tokens(p) for p in papers], show_progress=False)

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every paper (same order as self.ids)."""
        toks = words(question)
        if self._bm25 is None or not toks:
            return np.zeros(len(self.ids), dtype=np.float32)
        ids = self._bm25.get_tokens_ids(toks)
        if not ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)


def document_tokens(paper: StoredPaper) -> list[str]:
    """The BM25 document of a paper."""
    return words(" ".join([paper.title] * TITLE_REPEAT + [paper.abstract]))
