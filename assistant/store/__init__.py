"""The Chroma store: the only module that talks to chromadb and knows the storage layout.

Papers are stored as chunks whose flat metadata carries the paper's fields ("; "-joined lists, the date as a
sortable int for range filters); that encoding is written and decoded here only, everything above sees records.
Dense search goes straight to `collection.query` (cosine distances, filters as Chroma `where`): simpler and
exact where the LlamaIndex vector store reported exp(-distance) that had to be undone.

Beside the chunks, a `<collection>__papers` collection keeps one bookkeeping row per paper (id, content hash,
chunk count; no text), written after the paper's chunks: counts and incremental ingest read it, not chunks that
each carry the whole abstract. Papers are read by id from their first chunk; the lexical index is in index_path.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.errors import StoreError
from assistant.records import Chunk, Filters, Paper, PaperState, StoredPaper
from assistant.settings import Settings

from .codec import _PAGE, _pages, _states_from_chunks, _where, decode_paper, encode_paper  # noqa: F401
from .counts import SQLITE_FILE, count_rows
from .sentence_files import SentenceFiles

SENTENCES_SUFFIX = "__sentences"  # the cache of sentence vectors for the re-rank and citations (a directory)
PAPERS_SUFFIX = "__papers"  # one bookkeeping row per paper: content hash and chunk count, no text
INDEX_DIRNAME = "paperchat-lexical"  # the lexical index beside an embedded store: <store>/paperchat-lexical/<coll>
_BY_ID = 500  # ids per Chroma get(ids=...) call
_NO_VECTOR = [0.0]  # bookkeeping rows need an embedding (else Chroma's default function would download a model)


class Store:
    """A Chroma collection of paper chunks, embedded or behind a Chroma server."""

    def __init__(self, client, collection, where: str, embedder_name: str = "", index_path: Path | None = None):
        self.client = client
        self.collection = collection
        self.where = where  # human-readable location for messages
        self.embedder_name = embedder_name
        self.index_path = index_path  # directory of the persistent lexical index of this collection
        self.sqlite: Path | None = None  # an embedded store's SQLite file: counted there (counts.py), not via Chroma
        self._sentence_cache: SentenceFiles | None = None
        self._book = None  # the bookkeeping collection; None: a read-only store of an earlier paperchat

    # -- chunks ----------------------------------------------------------------------------------------------
    def upsert(self, chunks: list[Chunk], papers: dict[str, Paper], vectors: np.ndarray) -> None:
        """Insert or replace chunks by id (idempotent); each carries its paper's fields."""
        if not chunks:
            return
        metas = [dict(encode_paper(papers[c.paper_id]), chunk=c.index, n_chunks=c.n_chunks,
                      content_hash=c.content_hash) for c in chunks]
        self.collection.upsert(ids=[c.id for c in chunks], documents=[c.text for c in chunks],
                               embeddings=np.asarray(vectors).tolist(), metadatas=metas)

    def rewrite_vectors(self, ids: list[str], texts: list[str], metadatas: list[dict], vectors: np.ndarray) -> None:
        """Replace the vectors of stored chunks, keeping their text and metadata (re-embedding a store)."""
        if ids:
            self.collection.upsert(ids=ids, documents=texts, embeddings=np.asarray(vectors).tolist(),
                                   metadatas=metadatas)

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
        if self._book is not None:  # after the chunks: a crash in between leaves a row that ingest rewrites
            for start in range(0, len(paper_ids), _BY_ID):
                self._book.delete(ids=paper_ids[start:start + _BY_ID])
        return removed

    def iter_raw(self, include_text: bool = True) -> Iterator[tuple[str, str, dict]]:
        """Every stored chunk as (id, text, metadata), page by page (re-embedding, bookkeeping)."""
        for page in _pages(self.collection, ["metadatas", "documents"] if include_text else ["metadatas"]):
            docs = page.get("documents") or [""] * len(page["ids"])
            for cid, doc, meta in zip(page["ids"], docs, page["metadatas"], strict=True):
                yield cid, doc or "", dict(meta or {})

    # -- papers ----------------------------------------------------------------------------------------------
    def papers(self) -> dict[str, StoredPaper]:
        """Every paper in the store, by id (reads every paper: for tests and small stores, never at start-up)."""
        return self.get_papers(list(self.paper_states()))

    def get_papers(self, ids: list[str]) -> dict[str, StoredPaper]:
        """The given papers (those stored), read by id from their first chunks, in the order given."""
        found: dict[str, StoredPaper] = {}
        for start in range(0, len(ids), _BY_ID):
            page = self.collection.get(ids=[f"{pid}#0" for pid in ids[start:start + _BY_ID]], include=["metadatas"])
            found.update((p.id, p) for p in (decode_paper(dict(m or {})) for m in page["metadatas"]))
        return {pid: found[pid] for pid in ids if pid in found}

    def record_papers(self, rows: list[tuple[str, str, int]]) -> None:
        """Record (paper_id, content_hash, n_chunks) of papers whose chunks are all written."""
        if self._book is None:
            raise StoreError(f"Store '{self.where}' cannot be written (its paper list is missing) — "
                             f"open it once with write access: paperchat ingest FILE --store {self.where}")
        for part in (rows[s:s + _PAGE] for s in range(0, len(rows), _PAGE)):
            self._book.upsert(ids=[r[0] for r in part], embeddings=[_NO_VECTOR] * len(part),
                              metadatas=[{"content_hash": r[1], "n_chunks": int(r[2])} for r in part])

    def paper_states(self, ids: list[str] | None = None) -> dict[str, PaperState]:
        """paper_id -> what is stored of it (all papers, or the given ids); for incremental ingest."""
        if self._book is None:
            wanted = set(ids) if ids is not None else None
            return {p: st for p, st in _states_from_chunks(self.iter_raw(False)).items() if wanted is None or p in wanted}
        pages = (self._book.get(ids=ids[s:s + _BY_ID], include=["metadatas"]) for s in range(0, len(ids), _BY_ID)) \
            if ids is not None else _pages(self._book, ["metadatas"])
        rows = [(pid, meta or {}) for page in pages for pid, meta in zip(page["ids"], page["metadatas"], strict=True)]
        return {pid: PaperState(str(m.get("content_hash", "")), int(m.get("n_chunks", 0)),
                                tuple(f"{pid}#{i}" for i in range(int(m.get("n_chunks", 0))))) for pid, m in rows}

    def paper_count(self) -> int:
        """Number of papers, counted (nothing is read)."""
        legacy = self._book is None  # a read-only store of an earlier paperchat: first chunks are counted
        return len(self.collection.get(where={"chunk": 0}, include=[])["ids"]) if legacy else self._count(self._book)

    def stats(self) -> dict:  # counts.sqlite_stats gives the same without opening chromadb
        """{"papers": N, "chunks": M}, counted (nothing is read)."""
        return {"papers": self.paper_count(), "chunks": self.count()}

    def count(self) -> int:
        """Number of chunks."""
        return self._count(self.collection)

    def _count(self, collection) -> int:
        """Records of a collection: from the SQLite file of an embedded store, else (or if it cannot tell) Chroma."""
        n = count_rows(self.sqlite, collection.name) if self.sqlite else None
        return n if n is not None else collection.count()

    def _open_bookkeeping(self, quiet: bool) -> None:
        """Open (or build once, from the chunks of a store written by an earlier paperchat) the bookkeeping rows."""
        name = f"{self.collection.name}{PAPERS_SUFFIX}"
        try:
            book = self.client.get_or_create_collection(name, embedding_function=None)
            if not (book.metadata or {}).get("complete"):  # a new store, or one from an earlier paperchat
                if self.count() and not quiet:
                    print(f"paperchat: recording the papers of {self.where} once (a store from an earlier "
                          f"paperchat; {self.count()} chunks)", file=sys.stderr, flush=True)
                states = _states_from_chunks(self.iter_raw(include_text=False))
                self._book = book
                # A paper of two versions (interrupted re-ingest) gets hash "" and every chunk index it has.
                self.record_papers([(pid, st.content_hash, st.n_chunks if st.content_hash else
                                     1 + max(int(c.rsplit("#", 1)[1]) for c in st.chunk_ids))
                                    for pid, st in states.items()])
                book.modify(metadata={"complete": 1})  # only now: an interrupted build is redone
            self._book = book
        except Exception as exc:  # e.g. a read-only store directory; chromadb raises many types
            self._book = None
            print(f"paperchat: cannot record the papers of {self.where} ({exc}); counting and ingest scan "
                  f"every chunk instead (slow for a large store) — open it once with write access",
                  file=sys.stderr, flush=True)

    # -- dense search ----------------------------------------------------------------------------------------
    def dense(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> dict[str, tuple[float, dict]]:
        """Best chunk cosine similarity per paper for a query vector, with the chunk's metadata."""
        n = min(k, self.count())
        if n <= 0:
            return {}
        res = self.collection.query(query_embeddings=[np.asarray(vector).tolist()], n_results=n,
                                    where=_where(filters), include=["metadatas", "distances"])
        best: dict[str, tuple[float, dict]] = {}
        for meta, dist in zip(res["metadatas"][0], res["distances"][0], strict=True):
            pid, cos = str(meta.get("paper_id")), 1.0 - float(dist)  # cosine space: distance = 1 - cosine
            if pid not in best or cos > best[pid][0]:
                best[pid] = (cos, dict(meta))
        return best

    # -- sentence vectors: a cache beside the lexical index (files, not Chroma: sentence_files.py says why) -------
    def _sentence_files(self) -> SentenceFiles:
        if self._sentence_cache is None:
            root = (self.index_path.parent / f"{self.index_path.name}{SENTENCES_SUFFIX}" if self.index_path
                    else Path(self.where) / f"paperchat{SENTENCES_SUFFIX}")
            self._sentence_cache = SentenceFiles(root)
        return self._sentence_cache

    def load_sentences(self, keys: list[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Cached sentences and vectors by paper key ("id@content_hash"); unknown keys are left out."""
        try:
            return self._sentence_files().load(keys)
        except OSError as exc:  # callers treat the cache as optional
            raise StoreError(f"cannot read cached sentence vectors of '{self.where}': {exc}") from exc

    def save_sentences(self, papers: list[tuple[str, str, list[str], np.ndarray]]) -> None:
        """Keep papers' sentence vectors, given as (key, paper_id, sentences, vectors), in one write."""
        try:
            self._sentence_files().save(papers)
        except OSError as exc:  # e.g. a read-only store directory
            raise StoreError(f"cannot cache sentence vectors of '{self.where}': {exc}") from exc

    def delete_sentences(self, paper_ids: list[str]) -> None:
        """Drop the cached sentence vectors of changed or removed papers."""
        try:
            self._sentence_files().drop(paper_ids)
        except OSError:
            pass  # a read-only cache: the keys carry the content hash, so a changed paper misses anyway

    # -- which embedder wrote the vectors ---------------------------------------------------------------------
    def current_embedder(self) -> bool:
        """True when the stored vectors come from this paperchat's embedder."""
        return (self.collection.metadata or {}).get("embedder") in (None, self.embedder_name)

    def mark_current_embedder(self, dimension: int) -> None:
        """Record that every vector is now from this paperchat's embedder; cached sentence vectors are dropped."""
        self._sentence_files().clear()
        self.collection.modify(metadata={"embedder": self.embedder_name, "dimension": dimension})


def _client(settings: Settings):
    import chromadb  # here, not at import: `stats` counts from the file without it (counts.py)
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       settings=chroma_settings), f"{settings.chroma_host}:{settings.chroma_port}"
        except Exception as exc:  # chromadb raises ValueError/ConnectionError variants
            raise StoreError(f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                             f"({exc}) — start it with: chroma run --path DIR --port {settings.chroma_port}") from exc
    return chromadb.PersistentClient(path=str(settings.store), settings=chroma_settings), str(settings.store)


def _collection(client, settings: Settings, where: str, create: bool, meta: dict):
    # ef_search 200 (Chroma's default is 100) keeps approximate search near-exact at the depths we fetch.
    config = {"hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}}
    try:
        # embedding_function=None: we always pass vectors; Chroma's default function would download a model.
        if create:
            return client.get_or_create_collection(settings.collection, metadata=meta, configuration=config,
                                                   embedding_function=None)
        return client.get_collection(settings.collection, embedding_function=None)
    except Exception as exc:
        if create:
            raise StoreError(f"cannot open store '{where}': {exc}") from exc
        raise StoreError(f"Store '{where}' is empty — run: paperchat ingest <file> --store {where}") from exc


def index_path(settings: Settings) -> Path:
    """The lexical index directory: the setting, else beside an embedded store, else under cache_dir (a server)."""
    if settings.index_dir:
        return Path(settings.index_dir).expanduser() / settings.collection
    if settings.chroma_host:
        return settings.cache_dir / "lexical" / f"{settings.chroma_host}_{settings.chroma_port}" / settings.collection
    return settings.store / INDEX_DIRNAME / settings.collection


def open_store(settings: Settings, embedder_name: str, dimension: int, create: bool = False,
               other_embedder: bool = False, quiet: bool = False) -> Store:
    """Open the paper collection; with create=False a missing or empty store is a StoreError.

    A store whose vectors came from another embedder of the same dimension is a StoreError too, unless
    other_embedder=True (the corpus service then re-embeds it)."""
    if not settings.chroma_host and not create and not settings.store.exists():
        raise StoreError(f"Store '{settings.store}' does not exist — run: paperchat ingest <file> --store {settings.store}")
    client, where = _client(settings)
    collection = _collection(client, settings, where, create, {"embedder": embedder_name, "dimension": dimension})
    found = collection.metadata or {}
    if found.get("dimension") not in (None, dimension):
        raise StoreError(f"Store '{where}' was built with embedder {found.get('embedder')!r} "
                         f"({found.get('dimension')} dims), this paperchat uses {embedder_name!r} ({dimension}) — "
                         f"ingest into a new --store directory")
    store = Store(client, collection, where, embedder_name, index_path(settings))
    if not settings.chroma_host and (settings.store / SQLITE_FILE).is_file():
        store.sqlite = settings.store / SQLITE_FILE
    store._open_bookkeeping(quiet)
    if not other_embedder and not store.current_embedder():
        raise StoreError(f"Store '{where}' was built with embedder {found.get('embedder')!r}, this paperchat uses "
                         f"{embedder_name!r} — re-embed it by ingesting into it (paperchat ingest FILE --store {where}) "
                         f"or by serving it (paperchat serve --store {where}), or use a new --store directory")
    if not create and store.count() == 0:
        raise StoreError(f"Store '{where}' is empty — run: paperchat ingest <file> --store {where}")
    return store
