"""Abstract sentences and their vectors: one locked cache with one owner (the retrieval Library)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from assistant.errors import StoreError
from assistant.records import StoredPaper
from assistant.store import Store
from assistant.text import evidence_sentences

log = logging.getLogger(__name__)
SENTENCE_MEMORY = 5000  # papers whose sentence vectors are kept in memory (~15 KB each)

Embed = Callable[[list[str]], np.ndarray]


class SentenceCache:
    """Sentences + vectors per paper version: memory, else the store's cache, else embedded once and saved."""

    def __init__(self, store: Store, embed: Embed, memory: int = SENTENCE_MEMORY):
        self._store = store
        self._embed = embed
        self._memory = memory
        self._items: dict[str, tuple[list[str], np.ndarray]] = {}
        self._lock = threading.Lock()

    def get(self, papers: list[StoredPaper]) -> list[tuple[list[str], np.ndarray]]:
        """Sentences and embeddings of several papers, in order (missing ones embedded in one call)."""
        keys = [p.key for p in papers]
        with self._lock:
            have = {k: v for k in dict.fromkeys(keys) if (v := self._items.get(k)) is not None}
        missing = {p.key: p for p in papers if p.key not in have}
        if missing:
            new = self._load_or_embed(missing)
            with self._lock:
                if len(self._items) + len(new) > self._memory:
                    self._items.clear()
                self._items.update(new)
            have.update(new)
        return [have[k] for k in keys]

    def rebind(self, store: Store) -> None:
        """Read and write the sentence cache of this (reopened) store from now on."""
        self._store = store

    def forget(self, keep: set[str]) -> None:
        """Drop cached papers whose key is not in `keep` (changed or removed papers)."""
        with self._lock:
            for key in [k for k in self._items if k not in keep]:
                del self._items[key]

    def _load_or_embed(self, missing: dict[str, StoredPaper]) -> dict[str, tuple[list[str], np.ndarray]]:
        new: dict[str, tuple[list[str], np.ndarray]] = {}
        try:
            new.update(self._store.load_sentences(list(missing)))
        except StoreError as exc:  # a cache: an unreadable one costs time, not answers
            log.debug("sentence cache unreadable: %s", exc)
        todo = [(k, p) for k, p in missing.items() if k not in new]
        if not todo:
            return new
        # Injected instructions in an abstract never reach the LLM, the evidence or the citation checks.
        groups = [evidence_sentences(p.abstract) for _, p in todo]
        vecs = self._embed([s for group in groups for s in group])
        start = 0
        for (key, _), group in zip(todo, groups, strict=True):
            new[key] = (group, vecs[start:start + len(group)])
            start += len(group)
        try:
            self._store.save_sentences([(key, p.id, *new[key]) for key, p in todo])
        except StoreError as exc:  # e.g. a read-only store: answers still work, only slower next time
            log.debug("sentence cache not written: %s", exc)
        return new
