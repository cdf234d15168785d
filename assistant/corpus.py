"""The corpus service: add papers from files (validate everything first, then embed and upsert only what
changed), remove them, re-embed a store from an earlier embedder. CLI, UI and evaluation all call this."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.embed import DIMENSION, MODEL_NAME, MiniLMEmbedding
from assistant.errors import ParseError, StoreError
from assistant.records import Chunk, Paper
from assistant.retrieval.index import note_pending, update_index
from assistant.settings import Settings
from assistant.store import Store, open_store
from ingest.chunk import chunk_paper, content_hash
from ingest.parse import iter_records, normalize_title_key

BATCH_PAPERS = 64  # papers embedded and written per Chroma upsert
REEMBED_BATCH = 256  # chunks per upsert when a store is re-embedded


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    chunks_written: int = 0
    problems: list[str] = field(default_factory=list)


def _unique_papers(paths: list[Path], fmt: str | None, problems: list[str] | None,
                   duplicates: list[int] | None = None) -> Iterator[Paper]:
    """Stream good records from all files, each paper once (same id or same normalised title)."""
    seen_ids: set[str] = set()
    seen_titles: set[str] = set()
    for path in paths:
        for rec in iter_records(path, fmt):
            if isinstance(rec, str):
                if problems is not None:
                    problems.append(rec)
                continue
            key = _title_key(rec)
            if rec.id in seen_ids or key in seen_titles:
                if duplicates is not None:
                    duplicates[0] += 1
                continue
            seen_ids.add(rec.id)
            seen_titles.add(key)
            yield rec


def _title_key(paper: Paper) -> str:
    """Key for 'same paper under another id': the title, plus the abstract when the title is generic.

    SciFact has three different documents titled "Summary": a short title alone does not make two papers one.
    """
    key = normalize_title_key(paper.title)
    if len(paper.title.split()) < 4:
        key += "|" + normalize_title_key(paper.abstract[:500])
    return key


def validate(paths: list[Path], fmt: str | None = None) -> tuple[int, int, list[str]]:
    """Read every file once without writing: (unique papers, duplicates merged, problems)."""
    missing = [f"{p}:1: file not found" for p in paths if not p.is_file()]
    if missing:
        return 0, 0, missing
    problems: list[str] = []
    duplicates = [0]
    unique = sum(1 for _ in _unique_papers(paths, fmt, problems, duplicates))
    return unique, duplicates[0], problems


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def open_corpus(settings: Settings, create: bool = False) -> Store:
    """The store, checked against this paperchat's embedder (read paths: ask, stats, remove)."""
    return open_store(settings, MODEL_NAME, DIMENSION, create=create)


def _write(store: Store, embedder: MiniLMEmbedding, chunks: list[Chunk], papers: dict[str, Paper], stale: list[str],
           changed: list[str]) -> None:
    # The lexical index hears of these papers first: a kill -9 below leaves them pending, and the next open
    # re-checks them against the store's bookkeeping.
    note_pending(store, dict.fromkeys(c.paper_id for c in chunks))
    store.upsert(chunks, papers, embedder.embed([c.text for c in chunks]))
    # Orphans are deleted only after their replacements are written, and the bookkeeping row (new hash) only
    # after both: a kill -9 before it leaves the old hash, so the next run sees a change and rewrites the paper.
    store.delete(stale)
    store.record_papers([(c.paper_id, c.content_hash, c.n_chunks) for c in chunks if c.index == 0])
    if changed:
        store.delete_sentences(changed)  # cached under the old content hash; recomputed when next needed


def open_for_writing(settings: Settings, embedder: MiniLMEmbedding | None = None, quiet: bool = True) -> Store:
    """The store, created if needed; one built by an earlier embedder is re-embedded first, from its own chunk texts.

    Vectors are rewritten in place and the store is marked current only at the end, so an interrupted run is
    simply redone next time; nothing is lost, since every chunk keeps its text and metadata."""
    store = open_store(settings, MODEL_NAME, DIMENSION, create=True, other_embedder=True, quiet=quiet)
    if store.current_embedder():
        return store
    embedder = embedder or MiniLMEmbedding(threads=settings.llm_threads, cache_dir=settings.cache_dir)
    rows = list(store.iter_raw())
    if not quiet:
        print(f"paperchat: re-embedding the {len(rows)} chunks of {store.where} with {embedder.model_name}",
              file=sys.stderr, flush=True)
    for batch in _batches(rows, REEMBED_BATCH):
        ids, texts, metas = (list(x) for x in zip(*batch, strict=True))
        store.rewrite_vectors(ids, texts, metas, embedder.embed(texts))
    store.mark_current_embedder(DIMENSION)
    return store


def ingest_paths(paths: list[Path], settings: Settings, fmt: str | None = None, skip_invalid: bool = False,
                 progress: Callable[[int, int], None] | None = None, quiet: bool = True,
                 embedder: MiniLMEmbedding | None = None) -> IngestReport:
    """Validate all files, then upsert new/changed papers; the store is untouched if validation fails."""
    paths = [Path(p) for p in paths]
    total, duplicates, problems = validate(paths, fmt)
    if problems and not skip_invalid:
        raise ParseError(problems)
    report = IngestReport(duplicates=duplicates, problems=problems)
    if total == 0:
        return report
    store = open_for_writing(settings, embedder, quiet)
    states = store.paper_states()
    bar = None
    if not quiet:
        from tqdm import tqdm  # progress bar with rate and ETA

        bar = tqdm(total=total, unit="paper", file=sys.stderr, dynamic_ncols=True)
    done = 0
    for batch in _batches(_unique_papers(paths, fmt, None), BATCH_PAPERS):
        chunks: list[Chunk] = []
        stale: list[str] = []
        changed: list[str] = []
        for paper in batch:
            state = states.get(paper.id)
            # Unchanged = same content hash and every chunk present; decided without re-chunking (re-ingest speed).
            if state and state.complete and state.content_hash == content_hash(paper):
                report.unchanged += 1
                continue
            new_chunks = chunk_paper(paper)
            if state:
                report.updated += 1
                changed.append(paper.id)
                keep = {c.id for c in new_chunks}
                stale.extend(cid for cid in state.chunk_ids if cid not in keep)
            else:
                report.added += 1
            chunks.extend(new_chunks)
        if chunks:
            # Loaded only when something changed: an unchanged re-ingest never pays the model start-up.
            embedder = embedder or MiniLMEmbedding(threads=settings.llm_threads, cache_dir=settings.cache_dir)
            _write(store, embedder, chunks, {p.id: p for p in batch}, stale, changed)
            report.chunks_written += len(chunks)
        done += len(batch)
        if bar is not None:
            bar.update(len(batch))
        if progress is not None:
            progress(done, total)
    if bar is not None:
        bar.close()
    update_index(store, quiet=quiet)  # one new index segment for this run's papers (built first if missing)
    return report


def remove_papers(settings: Settings, ids: list[str]) -> int:
    """Delete papers by id; returns the chunks removed."""
    store = open_corpus(settings)
    note_pending(store, ids)
    removed = store.delete_papers(ids)
    update_index(store, ids)
    return removed


def open_or_seed(settings: Settings, demo: Path | None, embedder: MiniLMEmbedding | None = None) -> Store:
    """The store for serving; a missing or empty one is filled from `demo` (or left empty for uploads)."""
    try:
        return open_corpus(settings)
    except StoreError:
        # An unreachable server fails here with its message; a store from an earlier embedder is re-embedded.
        store = open_for_writing(settings, embedder, quiet=False)
        if store.count() or demo is None:
            return store
    print(f"paperchat: store {store.where} is empty; ingesting {demo}", flush=True)
    ingest_paths([Path(demo)], settings, quiet=False, embedder=embedder)
    return open_corpus(settings)
