"""Hybrid retrieval over one store: BM25 + dense fused per paper by reciprocal rank, re-ranked by best sentence.

Nothing is scanned at start: the lexical index is memory-mapped from disk (index.py) and papers are read by id,
for the papers a question needs, through `Library.papers` (a mapping backed by the store, with a bounded cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from assistant.records import Filters, Source, StoredPaper
from assistant.retrieval.index import name_parts, open_index
from assistant.retrieval.lexical import LexicalIndex
from assistant.retrieval.names import NameIndex, merge_parts
from assistant.retrieval.sentences import Embed, SentenceCache
from assistant.store import Store

# Reciprocal-rank fusion: k=10 and BM25 at 0.8x dense, tuned on SciFact train (with the int8 embedder and
# chunker 2, together with the re-rank weights below); the dev questions did not regress.
RRF_K = 10
DENSE_WEIGHT = 1.0
BM25_WEIGHT = 0.8
DENSE_DEPTH = 60  # chunks fetched from Chroma per query
EXHAUSTIVE_CHUNKS = 400  # up to this many chunks, dense search returns them all (cheap, and exact)
# Rerank score = RERANK_SENTENCE * best sentence cosine + best chunk cosine + RERANK_BM25 * BM25 (capped at 20).
# Tuned on SciFact train (nDCG@10 0.729 -> 0.739 over 1.0 / 0.01); test 0.718 -> 0.729.
RERANK_SENTENCE = 0.7
RERANK_BM25 = 0.03
RERANK_DEPTH = 10
PAPER_MEMORY = 20000  # papers kept decoded in memory (~2 KB each); beyond that they are read again by id
FILTER_DEPTH = 8  # author/tag filters: BM25 candidates checked per paper wanted (they need the decoded paper)
QUERY_MEMORY = 64  # recent question embeddings kept (an answer embeds its question, sides and titles)
NAMES_FILE = "names.json"  # the name index, beside the lexical index, keyed by the indexed papers and hashes
NAMES_VERSION = 2  # bumped when the saved state's shape changes (2: ownership strengths)


class PaperMap(Mapping):
    """paper_id -> StoredPaper for the indexed papers, read from the store by id when first needed."""

    def __init__(self, store: Store, lexical: LexicalIndex, memory: int = PAPER_MEMORY):
        self._store, self._lexical, self._memory = store, lexical, memory
        self._cache: dict[str, StoredPaper] = {}
        self._lock = threading.Lock()

    def __getitem__(self, pid: str) -> StoredPaper:
        got = self.get_many([pid])
        if pid not in got:
            raise KeyError(pid)
        return got[pid]

    def __contains__(self, pid: object) -> bool:
        return pid in self._lexical

    def __len__(self) -> int:
        return len(self._lexical)

    def __iter__(self) -> Iterator[str]:
        return iter(self._lexical.live_ids())

    def get_many(self, ids: list[str]) -> dict[str, StoredPaper]:
        """Several indexed papers in one store read (those cached are not read again)."""
        with self._lock:
            have = {p: v for p in ids if (v := self._cache.get(p)) is not None}
        todo = [p for p in dict.fromkeys(ids) if p not in have and p in self._lexical]
        if todo:
            new = self._store.get_papers(todo)
            with self._lock:
                if len(self._cache) + len(new) > self._memory:
                    self._cache.clear()
                self._cache.update(new)
            have.update(new)
        return {p: have[p] for p in ids if p in have}

    def values(self, batch: int = 500) -> Iterator[StoredPaper]:  # type: ignore[override]
        """Every indexed paper, read from the store in batches (a full read: lists and evaluation only)."""
        ids = self._lexical.live_ids()
        for start in range(0, len(ids), batch):
            yield from self.get_many(ids[start:start + batch]).values()

    def items(self, batch: int = 500) -> Iterator[tuple[str, StoredPaper]]:  # type: ignore[override]
        """(id, paper) of every indexed paper, read in batches."""
        for paper in self.values(batch):
            yield paper.id, paper


def load_names(store: Store, lexical: LexicalIndex, papers: PaperMap) -> NameIndex:
    """The name index: read from beside the lexical index when it matches the indexed papers, else merged from the
    segments' shares (written at ingest) and saved there; a full read of the papers only for an older index."""
    key = hashlib.sha256(json.dumps([NAMES_VERSION, sorted(lexical.hashes().items())]).encode()).hexdigest()[:16]
    path = store.index_path / NAMES_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return NameIndex(papers, saved["state"])
    except (OSError, ValueError, KeyError):
        pass  # missing, stale or unreadable: rebuilt below
    parts = name_parts(lexical)
    state = merge_parts(parts) if parts is not None else NameIndex.build_state(papers)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": key, "state": state}), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a killed run leaves the old file or the new one
    except OSError:
        pass  # a read-only store: the index lives in memory for this run
    return NameIndex(papers, state)


@dataclass(frozen=True)
class Query:
    """A question and its embedding, computed once and shared by every stage of one answer."""

    text: str
    vector: np.ndarray


class Library:
    """The papers of one store, searchable: built once per process (and again after the store changes)."""

    def __init__(self, store: Store, embed: Embed, sentences: SentenceCache | None = None,
                 lexical: LexicalIndex | None = None):
        self.store = store
        self.embed = embed
        self.lexical = lexical if lexical is not None else open_index(store, quiet=False)
        self.papers = PaperMap(store, self.lexical)
        self.n_chunks = store.count() if len(self.lexical) else 0
        self._names: NameIndex | None = None
        self._queries: dict[str, Query] = {}
        self._queries_lock = threading.Lock()
        self._names_lock = threading.Lock()
        self.sentences = sentences or SentenceCache(store, embed)
        # Unchanged papers keep their vectors; the keys come from the index, no paper is read.
        self.sentences.forget({f"{pid}@{h}" for pid, h in self.lexical.hashes().items()})

    def __len__(self) -> int:
        return len(self.papers)

    @property
    def names(self) -> NameIndex:
        """The papers' name index, loaded (or built and saved) on first use; serve warms it in the background."""
        with self._names_lock:
            if self._names is None:
                self._names = load_names(self.store, self.lexical, self.papers)
            return self._names

    def query(self, text: str) -> Query:
        """A question's embedding, computed once: understanding, selection and evidence of one answer share it."""
        with self._queries_lock:
            hit = self._queries.get(text)
        if hit is not None:
            return hit
        q = Query(text, self.embed([text])[0])
        with self._queries_lock:
            if len(self._queries) >= QUERY_MEMORY:
                self._queries.pop(next(iter(self._queries)))  # oldest first
            self._queries[text] = q
        return q

    def source(self, pid: str, score: float = 0.0) -> Source:
        """A stored paper as an (unscored) source."""
        return Source(self.papers[pid], score)

    def search(self, query: Query, k: int = 5, filters: Filters | None = None) -> list[Source]:
        """The top-k papers by fused BM25 + dense rank, each once, best first."""
        if not len(self.lexical):
            return []
        # A paper has ~2.5 chunks: fetch enough chunks that the dense side covers all k papers (SciFact R@100).
        dense = self._dense(query, filters, depth=max(DENSE_DEPTH, int(2.5 * k)))
        bm25 = self.lexical.scores(query.text)
        if filters and filters.active():
            bm25 = self._filter_lexical(bm25, filters, max(DENSE_DEPTH, k))
        order = [i for i in _top(bm25, max(DENSE_DEPTH, k)) if bm25[i] > 0]
        fused: dict[str, float] = {}
        for rank, i in enumerate(order):
            pid = self.lexical.ids[i]
            fused[pid] = fused.get(pid, 0.0) + BM25_WEIGHT / (RRF_K + rank + 1)
        for rank, (pid, _) in enumerate(sorted(dense.items(), key=lambda kv: -kv[1])):
            fused[pid] = fused.get(pid, 0.0) + DENSE_WEIGHT / (RRF_K + rank + 1)
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        papers = self.papers.get_many([pid for pid, _ in ranked])
        return [Source(papers[pid], round(score, 6), dense=round(dense.get(pid, 0.0), 4),
                       lexical=round(float(bm25[self.lexical.row(pid)]), 4)) for pid, score in ranked if pid in papers]

    def _filter_lexical(self, bm25: np.ndarray, filters: Filters, depth: int) -> np.ndarray:
        """BM25 scores of the papers passing the filters (others 0): dates and ids on the index, author/tag on
        the decoded papers of the best FILTER_DEPTH x depth candidates."""
        allowed = np.ones(len(bm25), dtype=bool)
        dates = self.lexical.dates
        if filters.since:
            allowed &= dates >= int(filters.since.strftime("%Y%m%d"))
        if filters.until:
            allowed &= (dates <= int(filters.until.strftime("%Y%m%d"))) & (dates > 0)
        if filters.ids:
            mask = np.zeros(len(bm25), dtype=bool)
            mask[[self.lexical.row(p) for p in filters.ids if p in self.lexical]] = True
            allowed &= mask
        bm25 = np.where(allowed, bm25, 0.0)
        if filters.author or filters.tag:
            rows = [i for i in _top(bm25, FILTER_DEPTH * depth) if bm25[i] > 0]
            papers = self.papers.get_many([self.lexical.ids[i] for i in rows])
            keep = np.zeros(len(bm25), dtype=bool)
            keep[[i for i in rows if (p := papers.get(self.lexical.ids[i])) and filters.accepts(p)]] = True
            bm25 = np.where(keep, bm25, 0.0)
        return bm25

    def _dense(self, query: Query, filters: Filters | None, depth: int) -> dict[str, float]:
        # author/tag are matches Chroma's `where` can't express: fetch deeper and filter decoded papers here.
        top_k = depth * (4 if filters and (filters.author or filters.tag) else 1)
        if self.n_chunks <= EXHAUSTIVE_CHUNKS:
            top_k = max(top_k, self.n_chunks)  # small stores: every chunk, so no approximate-search miss
        hits = {pid: cos for pid, (cos, _) in self.store.dense(query.vector, top_k, filters).items()
                if pid in self.lexical}
        if filters and (filters.author or filters.tag):
            papers = self.papers.get_many(list(hits))
            hits = {pid: cos for pid, cos in hits.items() if pid in papers and filters.accepts(papers[pid])}
        return hits

    def rerank(self, query: Query, sources: list[Source]) -> list[tuple[float, Source]]:
        """Re-score papers with their best-matching sentence (sharper than chunk-level similarity)."""
        scored = []
        for src, (sents, vecs) in zip(sources, self.sentences.get([s.paper for s in sources]), strict=True):
            best = float((vecs @ query.vector).max()) if sents else 0.0
            scored.append((RERANK_SENTENCE * best + src.dense + RERANK_BM25 * min(src.lexical, 20.0), src))
        return sorted(scored, key=lambda t: -t[0])

    def rank(self, query: Query, k: int, filters: Filters | None = None) -> list[tuple[float, Source]]:
        """The product ranking: hybrid search, its head re-ranked by best sentence (rerank scores; tail 0)."""
        found = self.search(query, k=max(k, RERANK_DEPTH), filters=filters)
        head = self.rerank(query, found[:RERANK_DEPTH])
        return head + [(0.0, s) for s in found[RERANK_DEPTH:]]

    def catalog(self, query: str = "", limit: int = 500) -> list[StoredPaper]:
        """Papers whose title or id contains `query`, sorted by title: titles come from the index, only the
        `limit` shown are read (service.list_papers read every paper: 100k of them cost ~40 s at serve start)."""
        ids = self.lexical.matching(query, limit)
        papers = self.papers.get_many(ids)
        return [papers[p] for p in ids if p in papers]

    def warm(self, limit: int = 5000, batch: int = 64) -> int:
        """Load (or embed once and store) the sentences of up to `limit` papers; the UI runs this in the background."""
        _ = self.names  # the name index first: the first question needs it
        ids = self.lexical.live_ids()[:limit]
        for start in range(0, len(ids), batch):
            self.sentences.get(list(self.papers.get_many(ids[start:start + batch]).values()))
        return len(ids)


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest scores, best first (argpartition: a full sort of 100k rows cost ~8 ms)."""
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n)[:n]
    return part[np.argsort(-scores[part], kind="stable")]
