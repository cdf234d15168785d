"""The lexical side: BM25 (bm25s, Snowball stemming via PyStemmer) over title + abstract, one document per paper.

An index is a list of segments (a base and small deltas added by later ingests, see index.py), each a bm25s
index with its own vocabulary. bm25s bakes each segment's IDF into its score matrix; scoring rescales every
query token's column by idf(all live papers) / idf(segment), so IDF is exact across segments and deletions.
What stays per segment is BM25's length normalisation (each segment's average document length): the one
approximation, measured in docs/scaling.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.records import StoredPaper
from assistant.text import words

TITLE_REPEAT = 2  # the title counts twice in the BM25 document: titles name the method
BM25_K1, BM25_B = 1.2, 0.75
TOKENIZER = "3"  # bump when bm25_words() or text.words() change: saved indexes are then rebuilt (2: compound parts)


def bm25_words(text: str) -> list[str]:
    """A document's BM25 tokens: words with each hyphenated word's parts after it (queries keep plain words: the
    refusal bars are calibrated on their BM25 scale)."""
    return words(text, parts=True)


def document_tokens(paper: StoredPaper) -> list[str]:
    """The BM25 document of a paper."""
    return bm25_words(" ".join([paper.title] * TITLE_REPEAT + [paper.abstract]))


def published_int(paper: StoredPaper) -> int:
    """The paper's date as YYYYMMDD (0: unknown), for date filters on the lexical side."""
    return int(paper.published.strftime("%Y%m%d")) if paper.published else 0


def _bm25s():
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
    return bm25s


def _idf(df, n):
    """bm25s's default ("lucene") IDF."""
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5))


@dataclass
class Segment:
    """One bm25s index over some papers, with each row's paper id, content hash and date, and a tombstone mask."""

    bm25: object  # bm25s.BM25 (its arrays memory-mapped when loaded from disk)
    ids: list[str]
    hashes: list[str]
    dates: np.ndarray  # int32 YYYYMMDD per row
    dead: np.ndarray  # bool per row: removed or replaced by a later segment
    titles: list[str] | None = None  # for listing papers without reading them
    path: Path | None = None  # the saved segment's directory (None: built in memory)

    @property
    def n(self) -> int:
        return len(self.ids)


def build_segment(papers: list[StoredPaper]) -> Segment:
    """A new segment over the given papers (at least one)."""
    vocab: dict[str, int] = {}
    # Token ids per document, not strings: 100k abstracts are ~12M tokens, ~0.8 GB as Python strings.
    docs = [[vocab.setdefault(t, len(vocab)) for t in document_tokens(p)] for p in papers]
    bm25 = _bm25s().BM25(k1=BM25_K1, b=BM25_B)
    bm25.index((docs, vocab), show_progress=False)
    return Segment(bm25, [p.id for p in papers], [p.content_hash for p in papers],
                   np.array([published_int(p) for p in papers], dtype=np.int32), np.zeros(len(papers), dtype=bool),
                   [p.title for p in papers])


def load_bm25(path, mmap: bool = True):
    """A saved bm25s index (its score arrays memory-mapped: nothing is read until a query touches it)."""
    return _bm25s().BM25.load(str(path), mmap=mmap, show_progress=False)


class LexicalIndex:
    """BM25 over papers in one or more segments, scored with the IDF of all live papers."""

    def __init__(self, segments: list[Segment]):
        self.segments = [s for s in segments if s.n]
        self.offsets = np.cumsum([0] + [s.n for s in self.segments])
        self.ids: list[str] = [pid for s in self.segments for pid in s.ids]  # one per row, dead rows included
        self.dead = np.concatenate([s.dead for s in self.segments]) if self.segments else np.zeros(0, dtype=bool)
        self.dates = np.concatenate([s.dates for s in self.segments]) if self.segments else np.zeros(0, np.int32)
        hashes = [h for s in self.segments for h in s.hashes]
        self.titles = [t for s in self.segments for t in (s.titles or [""] * s.n)]
        live = np.flatnonzero(~self.dead)
        self._row = {self.ids[i]: int(i) for i in live}
        self._hash = {self.ids[i]: hashes[i] for i in live}

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, pid: object) -> bool:
        return pid in self._row

    def row(self, pid: str) -> int:
        """The row of a live paper (KeyError for others)."""
        return self._row[pid]

    def live_ids(self) -> list[str]:
        """Ids of the indexed papers, in row order."""
        return list(self._row)

    def matching(self, query: str, limit: int) -> list[str]:
        """Ids of live papers whose title or id contains `query` (case-insensitive), sorted by title."""
        q = query.strip().lower()
        rows = [i for i in self._row.values() if not q or q in self.titles[i].lower() or q in self.ids[i].lower()]
        return [self.ids[i] for i in sorted(rows, key=lambda i: self.titles[i].lower())[:limit]]

    def hashes(self) -> dict[str, str]:
        """paper_id -> content hash of every indexed paper."""
        return self._hash

    def containing(self, stems: list[str]) -> list[str]:
        """Ids of the live papers whose BM25 document holds every one of these tokens, in row order."""
        rows = None
        for tok in dict.fromkeys(stems):
            found = [off + self._postings(seg, tok) for off, seg in zip(self.offsets, self.segments, strict=False)]
            here = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
            rows = here if rows is None else np.intersect1d(rows, here)
        if rows is None:
            return []
        return [self.ids[i] for i in np.sort(rows) if not self.dead[i]]

    @staticmethod
    def _postings(seg: Segment, tok: str) -> np.ndarray:
        tid = seg.bm25.vocab_dict.get(tok)
        if tid is None:
            return np.zeros(0, dtype=np.int64)
        indptr = seg.bm25.scores["indptr"]
        return np.asarray(seg.bm25.scores["indices"][int(indptr[tid]):int(indptr[tid + 1])], dtype=np.int64)

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every row (same order as self.ids; dead rows 0)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        n_live = len(self)
        for tok in words(question):  # a repeated query word counts again, as in bm25s (parts: documents only)
            parts, df = [], 0
            for off, seg in zip(self.offsets, self.segments, strict=False):
                tid = seg.bm25.vocab_dict.get(tok)
                if tid is None:
                    continue
                indptr = seg.bm25.scores["indptr"]
                a, b = int(indptr[tid]), int(indptr[tid + 1])
                rows = np.asarray(seg.bm25.scores["indices"][a:b])
                df += int((~seg.dead[rows]).sum())
                parts.append((off, rows, np.asarray(seg.bm25.scores["data"][a:b]), _idf(b - a, seg.n)))
            if not df:
                continue
            idf = _idf(df, n_live)
            for off, rows, vals, seg_idf in parts:
                out[off + rows] += vals * np.float32(idf / seg_idf)
        out[self.dead] = 0.0
        return out
