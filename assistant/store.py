"""The Chroma store: the only module that talks to chromadb."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.embed import DIMENSION, MODEL_NAME
from assistant.errors import StoreError
from assistant.settings import Settings

_PAGE = 5000  # rows per Chroma get() call when reading the whole collection
SENTENCES_SUFFIX = "__sentences"  # the collection caching sentence vectors for the re-rank and citations


@dataclass
class StoredChunk:
    """A chunk as read back from the store."""

    id: str
    text: str
    metadata: dict


class Store:
    """A Chroma collection of paper chunks, embedded or behind a Chroma server."""

    def __init__(self, client, collection, where: str):
        self.client = client
        self.collection = collection
        self.where = where  # human-readable location for messages
        self._sentence_collection = None

    def upsert(self, ids: list[str], texts: list[str], embeddings, metadatas: list[dict]) -> None:
        """Insert or replace chunks by id (idempotent)."""
        if ids:
            self.collection.upsert(ids=ids, documents=texts, embeddings=embeddings, metadatas=metadatas)

    def delete(self, ids: list[str]) -> None:
        """Delete chunks by id."""
        if ids:
            self.collection.delete(ids=ids)

    def delete_papers(self, paper_ids: list[str]) -> int:
        """Delete every chunk (and cached sentence vector) of the given papers; returns the chunks removed."""
        removed = 0
        for pid in paper_ids:
            found = self.collection.get(where={"paper_id": pid}, include=[])
            self.delete(found["ids"])
            removed += len(found["ids"])
        self.delete_sentences(paper_ids)
        return removed

    # -- sentence vectors: a cache beside the chunks, filled at query time, kept across processes ----------
    def _sentences(self):
        if self._sentence_collection is None:
            self._sentence_collection = self.client.get_or_create_collection(
                f"{self.collection.name}{SENTENCES_SUFFIX}", metadata=dict(self.collection.metadata or {}),
                configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        return self._sentence_collection

    def load_sentences(self, keys: list[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Cached sentences and vectors by paper key ("id@content_hash"); unknown keys are left out."""
        found: dict[str, list[tuple[int, str, np.ndarray]]] = {}
        for start in range(0, len(keys), 500):
            try:
                page = self._sentences().get(where={"key": {"$in": keys[start:start + 500]}},
                                             include=["documents", "embeddings", "metadatas"])
            except Exception as exc:  # chromadb raises many types; callers treat the cache as optional
                raise StoreError(f"cannot read cached sentence vectors from '{self.where}': {exc}") from exc
            for doc, vec, meta in zip(page["documents"], page["embeddings"], page["metadatas"], strict=True):
                found.setdefault(str(meta["key"]), []).append((int(meta["i"]), doc or "", vec))
        out = {}
        for key, rows in found.items():
            rows.sort(key=lambda r: r[0])
            if int(rows[0][0]) == 0 and len(rows) == int(rows[-1][0]) + 1:  # only complete sets
                out[key] = ([r[1] for r in rows], np.asarray([r[2] for r in rows], dtype=np.float32))
        return out

    def save_sentences(self, papers: list[tuple[str, str, list[str], np.ndarray]]) -> None:
        """Keep papers' sentence vectors, given as (key, paper_id, sentences, vectors), in one write."""
        ids, docs, vecs, metas = [], [], [], []
        for key, paper_id, sentences, vectors in papers:
            ids += [f"{key}#{i}" for i in range(len(sentences))]
            docs += sentences
            vecs += vectors.tolist()
            metas += [{"key": key, "paper_id": paper_id, "i": i} for i in range(len(sentences))]
        if not ids:
            return
        try:
            self._sentences().upsert(ids=ids, documents=docs, embeddings=vecs, metadatas=metas)
        except Exception as exc:  # e.g. a read-only store directory
            raise StoreError(f"cannot cache sentence vectors in '{self.where}': {exc}") from exc

    def delete_sentences(self, paper_ids: list[str]) -> None:
        """Drop the cached sentence vectors of changed or removed papers."""
        for start in range(0, len(paper_ids), 500):
            self._sentences().delete(where={"paper_id": {"$in": paper_ids[start:start + 500]}})

    def current_embedder(self) -> bool:
        """True when the stored vectors come from this paperchat's embedder."""
        return (self.collection.metadata or {}).get("embedder") in (None, MODEL_NAME)

    def mark_current_embedder(self) -> None:
        """Record that every vector is now from this paperchat's embedder; cached sentence vectors are dropped."""
        try:
            self.client.delete_collection(f"{self.collection.name}{SENTENCES_SUFFIX}")
        except Exception:  # chromadb raises NotFoundError/ValueError variants when there is none
            pass
        self._sentence_collection = None
        self.collection.modify(metadata={"embedder": MODEL_NAME, "dimension": DIMENSION})

    def count(self) -> int:
        """Number of chunks."""
        return self.collection.count()

    def iter_chunks(self, include_text: bool = True) -> Iterator[StoredChunk]:
        """Every chunk in the store, page by page."""
        include = ["metadatas", "documents"] if include_text else ["metadatas"]
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=_PAGE, offset=offset)
            docs = page.get("documents") or [""] * len(page["ids"])
            for cid, doc, meta in zip(page["ids"], docs, page["metadatas"], strict=True):
                yield StoredChunk(cid, doc or "", dict(meta or {}))
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def paper_states(self) -> dict[str, tuple[str, int, list[str]]]:
        """paper_id -> (content hash, expected chunk count, stored chunk ids); for incremental ingest."""
        states: dict[str, tuple[str, int, list[str]]] = {}
        for c in self.iter_chunks(include_text=False):
            pid = str(c.metadata.get("paper_id", ""))
            h = str(c.metadata.get("content_hash", ""))
            n = int(c.metadata.get("n_chunks", 0))
            old = states.get(pid)
            if old is None:
                states[pid] = (h, n, [c.id])
            else:
                # Two hashes for one paper means an interrupted re-ingest; mark it for rewriting.
                states[pid] = (old[0] if old[0] == h else "", n, old[2] + [c.id])
        return states

    def stats(self) -> dict:
        """{"papers": N, "chunks": M}."""
        papers = {str(c.metadata.get("paper_id")) for c in self.iter_chunks(include_text=False)}
        return {"papers": len(papers), "chunks": self.count()}

    def vector_store(self):
        """The collection wrapped as a LlamaIndex vector store (used by retrieval)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)


def _client(settings: Settings):
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       settings=chroma_settings), f"{settings.chroma_host}:{settings.chroma_port}"
        except Exception as exc:  # chromadb raises ValueError/ConnectionError variants
            raise StoreError(f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                             f"({exc}) — start it with: chroma run --path DIR --port {settings.chroma_port}") from exc
    return chromadb.PersistentClient(path=str(settings.store), settings=chroma_settings), str(settings.store)


def open_store(settings: Settings, create: bool = False, other_embedder: bool = False) -> Store:
    """Open the paper collection; with create=False a missing or empty store is a StoreError.

    A store whose vectors came from another embedder of the same dimension is a StoreError too, unless
    other_embedder=True (ingest.pipeline.open_for_writing then re-embeds it)."""
    if not settings.chroma_host and not create and not settings.store.exists():
        raise StoreError(f"Store '{settings.store}' does not exist — run: paperchat ingest <file> --store {settings.store}")
    client, where = _client(settings)
    meta = {"embedder": MODEL_NAME, "dimension": DIMENSION}
    # ef_search 200 (Chroma's default is 100) keeps approximate search near-exact at the depths we fetch.
    config = {"hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}}
    try:
        # embedding_function=None: we always pass vectors; Chroma's default function would download a model.
        if create:
            collection = client.get_or_create_collection(settings.collection, metadata=meta, configuration=config,
                                                         embedding_function=None)
        else:
            collection = client.get_collection(settings.collection, embedding_function=None)
    except Exception as exc:
        if create:
            raise StoreError(f"cannot open store '{where}': {exc}") from exc
        raise StoreError(f"Store '{where}' is empty — run: paperchat ingest <file> --store {where}") from exc
    found = collection.metadata or {}
    if found.get("dimension") not in (None, DIMENSION):
        raise StoreError(f"Store '{where}' was built with embedder {found.get('embedder')!r} "
                         f"({found.get('dimension')} dims), this paperchat uses {MODEL_NAME!r} ({DIMENSION}) — "
                         f"ingest into a new --store directory")
    store = Store(client, collection, where)
    if not other_embedder and not store.current_embedder():
        raise StoreError(f"Store '{where}' was built with embedder {found.get('embedder')!r}, this paperchat uses "
                         f"{MODEL_NAME!r} — re-embed it by ingesting into it (paperchat ingest FILE --store {where}) "
                         f"or by serving it (paperchat serve --store {where}), or use a new --store directory")
    if not create and store.count() == 0:
        raise StoreError(f"Store '{where}' is empty — run: paperchat ingest <file> --store {where}")
    return store
