"""Sentence vectors cached in files beside the lexical index instead of a Chroma collection.

When this cache was a Chroma collection, stores whose `serve` was killed while warming it (the scale bench does)
became unwritable: every later Chroma write crashed with SIGSEGV, and the sentence collection's HNSW segment was
truncated, the shape of chroma-core/chroma#7238. A cache must not be able to break the store, so it lives in
plain files whose every write is atomic:

    <root>/shard-<seq>-<rand>.npy    float32 vectors of one save, fsynced, then renamed into place
    <root>/shard-<seq>-<rand>.json   {"papers": [[key, paper_id, first_row, end_row, sentences], ...]}, written last
    <root>/drop-<seq>-<rand>.json    paper ids whose earlier vectors no longer count (changed or removed papers)
    <root>/lock                      flock held while shards are merged

A shard counts once its .json exists; a torn or half-written pair is skipped. An entry is live when its shard is
newer than the last drop of its paper. More than MERGE_AT shards are merged into one (drops applied) under the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import numpy as np

MERGE_AT = 32  # shards kept before they are merged into one (each is a file read at first use)


def _name(kind: str) -> str:
    return f"{kind}-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def _seq(name: str) -> int:
    return int(name.split("-")[1])


class SentenceFiles:
    """key ("id@content_hash") -> (sentences, vectors), kept in atomic files; thread-safe, shared by processes."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._entries: dict[str, tuple[str, str, int, int, list[str]]] = {}  # key -> shard, pid, rows, sentences
        self._vectors: dict[str, np.ndarray] = {}  # shard -> memory-mapped vectors
        self._dropped: dict[str, int] = {}  # paper id -> newest drop seq

    def load(self, keys: list[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        with self._lock:
            self._scan()  # two directory listings: another process's saves and drops are seen at once
            out = {}
            for key in keys:
                entry = self._entries.get(key)
                if entry and _seq(entry[0]) > self._dropped.get(entry[1], -1) and entry[0] in self._vectors:
                    shard, _, a, b, sentences = entry
                    out[key] = (list(sentences), np.array(self._vectors[shard][a:b], dtype=np.float32))
            return out

    def save(self, papers: list[tuple[str, str, list[str], np.ndarray]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_shard(self.root, papers, _name("shard"))
        with self._lock:
            self._scan()
        if len(self._listing("shard")) > MERGE_AT:
            self._merge()

    def drop(self, paper_ids: list[str]) -> None:
        """Earlier vectors of these papers stop counting (a later save of the same paper counts again)."""
        if not paper_ids or not self.root.is_dir():
            return
        _atomic(self.root / f"{_name('drop')}.json", lambda f: f.write(json.dumps(paper_ids).encode()))
        with self._lock:
            self._scan()

    def clear(self) -> None:
        """Forget everything (the vectors came from another embedder)."""
        with self._lock:
            shutil.rmtree(self.root, ignore_errors=True)
            self._seen.clear()
            self._entries.clear()
            self._vectors.clear()
            self._dropped.clear()

    # -- reading and merging ------------------------------------------------------------------------------
    def _listing(self, kind: str) -> list[str]:
        """Names of the complete shards ("shard") or drop lists ("drop"), oldest first."""
        try:
            return sorted(p.stem for p in self.root.glob(f"{kind}-*.json"))
        except OSError:
            return []

    def _scan(self) -> None:
        for name in [d for d in self._listing("drop") if d not in self._seen]:
            try:
                for pid in json.loads((self.root / f"{name}.json").read_text(encoding="utf-8")):
                    self._dropped[pid] = max(_seq(name), self._dropped.get(pid, -1))
                self._seen.add(name)
            except (OSError, ValueError):
                continue  # merged away meanwhile: its effect is in the merged shard
        for name in [s for s in self._listing("shard") if s not in self._seen]:
            try:
                rows = json.loads((self.root / f"{name}.json").read_text(encoding="utf-8"))["papers"]
                self._vectors[name] = np.load(self.root / f"{name}.npy", mmap_mode="r")
            except (OSError, ValueError, KeyError):
                continue  # torn, or merged away by another process: skipped
            self._seen.add(name)
            for key, pid, a, b, sentences in rows:
                old = self._entries.get(key)
                if old is None or _seq(old[0]) <= _seq(name):
                    self._entries[key] = (name, pid, a, b, sentences)

    def _merge(self) -> None:
        """All live entries into one shard, then the merged shards and drops removed (under the lock)."""
        with open(self.root / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with self._lock:
                    self._scan()
                    shards, drops = self._listing("shard"), self._listing("drop")
                    live = {k: e for k, e in self._entries.items()
                            if e[0] in shards and _seq(e[0]) > self._dropped.get(e[1], -1)}
                    papers = [(k, e[1], e[4], np.asarray(self._vectors[e[0]][e[2]:e[3]])) for k, e in live.items()]
                # Named with the newest merged shard's sequence: a drop written meanwhile (newer) still applies.
                if shards:
                    _write_shard(self.root, papers, f"shard-{_seq(shards[-1]):020d}-{uuid.uuid4().hex[:8]}")
                for name in shards:
                    for ext in (".json", ".npy"):
                        (self.root / f"{name}{ext}").unlink(missing_ok=True)
                for name in drops:
                    (self.root / f"{name}.json").unlink(missing_ok=True)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _write_shard(root: Path, papers: list[tuple[str, str, list[str], np.ndarray]], name: str) -> None:
    rows, blocks, start = [], [], 0
    for key, pid, sentences, vectors in papers:
        rows.append([key, pid, start, start + len(sentences), list(sentences)])
        blocks.append(np.asarray(vectors, dtype=np.float32).reshape(len(sentences), -1))
        start += len(sentences)
    if not rows:
        return
    _atomic(root / f"{name}.npy", lambda f: np.save(f, np.concatenate(blocks)))
    _atomic(root / f"{name}.json", lambda f: f.write(json.dumps({"papers": rows}).encode()))


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
