"""Hybrid retrieval: BM25 (bm25s) over papers + dense (LlamaIndex over Chroma) over chunks, fused per paper."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from assistant.embed import MiniLMEmbedding
from assistant.records import Source
from assistant.store import Store
from assistant.text import words

# Reciprocal-rank fusion: k=10 and BM25 at 0.8x dense, tuned on SciFact train (with the int8 embedder and
# chunker 2, together with the re-rank weights in assistant/answer.py); the dev questions did not regress.
RRF_K = 10
DENSE_WEIGHT = 1.0
BM25_WEIGHT = 0.8
TITLE_REPEAT = 2  # the title counts twice in the BM25 document: titles name the method
DENSE_DEPTH = 60  # chunks fetched from Chroma per query
BM25_K1, BM25_B = 1.2, 0.75
EXHAUSTIVE_CHUNKS = 400  # up to this many chunks, dense search returns them all (cheap, and exact)


@dataclass
class Filters:
    """Metadata filters applied on both the dense and the BM25 side."""

    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""
    author: str = ""  # case-insensitive substring of the authors list
    tag: str = ""  # exact category/tag (case-insensitive)
    ids: list[str] = field(default_factory=list)

    def active(self) -> bool:
        return bool(self.since or self.until or self.author or self.tag or self.ids)

    def accepts(self, meta: dict) -> bool:
        """True when a paper's metadata passes every filter."""
        date = int(meta.get("published_int") or 0)
        if self.since and (date == 0 or date < _date_int(self.since)):
            return False
        if self.until and (date == 0 or date > _date_int(self.until)):
            return False
        if self.author and self.author.lower() not in str(meta.get("authors", "")).lower():
            return False
        if self.tag:
            tags = [t.strip().lower() for t in str(meta.get("categories", "")).split(";")]
            if self.tag.lower() not in tags:
                return False
        return not (self.ids and meta.get("paper_id") not in self.ids)


def _date_int(text: str) -> int:
    digits = text.replace("-", "")
    return int((digits + "0101")[:8]) if digits[:4].isdigit() else 0


class Retriever:
    """Ranks papers for a question; built once per process from the store."""

    def __init__(self, store: Store, embedder: MiniLMEmbedding):
        from llama_index.core import VectorStoreIndex

        self.store = store
        self.embedder = embedder
        self.papers: dict[str, dict] = {}
        self.n_chunks = 0
        for chunk in store.iter_chunks(include_text=False):
            pid = str(chunk.metadata.get("paper_id"))
            self.papers.setdefault(pid, chunk.metadata)
            self.n_chunks += 1
        self._last_query: tuple[str, np.ndarray | None] = ("", None)
        self.paper_ids = list(self.papers)
        self._index_of = {p: i for i, p in enumerate(self.paper_ids)}  # built once: per query it cost 55% at 100k
        self._index = VectorStoreIndex.from_vector_store(store.vector_store(), embed_model=embedder)
        self._bm25 = None
        if self.paper_ids:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
            docs = [words(" ".join([m.get("title", "")] * TITLE_REPEAT + [m.get("abstract", "")]))
                    for m in self.papers.values()]
            self._bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            self._bm25.index(docs, show_progress=False)

    def __len__(self) -> int:
        return len(self.paper_ids)

    def query_vector(self, question: str) -> np.ndarray:
        """The question's embedding, computed once per question (search and re-rank share it)."""
        if self._last_query[0] != question or self._last_query[1] is None:
            self._last_query = (question, self.embedder.embed([question])[0])
        return self._last_query[1]

    def bm25_scores(self, question: str) -> np.ndarray:
        """BM25 score of every paper (same order as self.paper_ids)."""
        toks = words(question)
        if self._bm25 is None or not toks:
            return np.zeros(len(self.paper_ids), dtype=np.float32)
        ids = self._bm25.get_tokens_ids(toks)
        if not ids:
            return np.zeros(len(self.paper_ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def dense_scores(self, question: str, filters: Filters | None = None, depth: int = DENSE_DEPTH) -> dict[str, float]:
        """Best chunk cosine similarity per paper, from Chroma through a LlamaIndex retriever."""
        from llama_index.core.schema import QueryBundle
        from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

        conds = []
        if filters and filters.since:
            conds.append(MetadataFilter(key="published_int", value=_date_int(filters.since), operator=FilterOperator.GTE))
        if filters and filters.until:
            conds.append(MetadataFilter(key="published_int", value=_date_int(filters.until), operator=FilterOperator.LTE))
        if filters and filters.ids:
            conds.append(MetadataFilter(key="paper_id", value=list(filters.ids), operator=FilterOperator.IN))
        mf = MetadataFilters(filters=conds) if conds else None
        # author/tag are substring matches Chroma's `where` can't express: fetch deeper and filter here.
        extra = 4 if filters and (filters.author or filters.tag) else 1
        top_k = depth * extra
        if self.n_chunks <= EXHAUSTIVE_CHUNKS:
            top_k = max(top_k, self.n_chunks)  # small stores: every chunk, so no approximate-search miss
        retriever = self._index.as_retriever(similarity_top_k=top_k, filters=mf)
        query = QueryBundle(query_str=question, embedding=self.query_vector(question).tolist())
        best: dict[str, float] = {}
        for hit in retriever.retrieve(query):
            meta = hit.node.metadata
            if filters and not filters.accepts(meta):
                continue
            pid = str(meta.get("paper_id"))
            cos = 1.0 + math.log(max(hit.score or 1e-9, 1e-9))  # ChromaVectorStore reports exp(-cosine distance)
            best[pid] = max(best.get(pid, -1.0), cos)
        return best

    def search(self, question: str, k: int = 5, filters: Filters | None = None) -> list[Source]:
        """The top-k papers, each once, best first."""
        if not self.paper_ids:
            return []
        # A paper has ~2.5 chunks: fetch enough chunks that the dense side covers all k papers (SciFact R@100).
        dense = self.dense_scores(question, filters, depth=max(DENSE_DEPTH, int(2.5 * k)))
        bm25 = self.bm25_scores(question)
        allowed = np.ones(len(self.paper_ids), dtype=bool)
        if filters and filters.active():
            allowed = np.array([filters.accepts(self.papers[p]) for p in self.paper_ids])
        bm25_masked = np.where(allowed & (bm25 > 0), bm25, -1.0)
        bm25_order = [i for i in np.argsort(-bm25_masked)[: max(DENSE_DEPTH, k)] if bm25_masked[i] > 0]
        fused: dict[str, float] = {}
        for rank, i in enumerate(bm25_order):
            pid = self.paper_ids[i]
            fused[pid] = fused.get(pid, 0.0) + BM25_WEIGHT / (RRF_K + rank + 1)
        for rank, (pid, _) in enumerate(sorted(dense.items(), key=lambda kv: -kv[1])):
            fused[pid] = fused.get(pid, 0.0) + DENSE_WEIGHT / (RRF_K + rank + 1)
        index_of = self._index_of
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        out = []
        for pid, score in ranked:
            meta = self.papers[pid]
            out.append(Source(id=pid, title=str(meta.get("title", "")), abstract=str(meta.get("abstract", "")),
                              score=round(score, 6), dense=round(dense.get(pid, 0.0), 4),
                              lexical=round(float(bm25[index_of[pid]]), 4), metadata=meta))
        return out
