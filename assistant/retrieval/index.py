"""The persistent lexical index: bm25s segments saved beside the store, memory-mapped at start, updated per ingest.

Layout of `Store.index_path` (one directory per collection):
    manifest.json   {"format", "tokenizer", "k1", "b", "papers", "segments": [{"dir", "dead": [rows]}]}
    seg-<uuid>/     a bm25s save, plus docs.json (paper ids, content hashes, titles), dates.npy and names.json
                    (the segment's share of the name index: adding papers reads only the new ones)
    pending.jsonl   paper ids an ingest or removal is about to write (fsynced before Chroma is touched)
    lock            flock: one writer at a time; readers share it

Crash safety: a new segment is written in full to a fresh directory, then manifest.json is replaced atomically
(temp file, fsync, os.replace); only after that are unreferenced segment directories deleted and pending.jsonl
cleared. A kill -9 anywhere leaves either the old manifest with all its segments or the new one, and any id still
in pending.jsonl is re-checked against the store's bookkeeping on the next open, so no paper is lost or doubled.
A manifest of another format or tokenizer is rebuilt; a paper count that differs from the store's is reconciled.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from assistant.records import StoredPaper
from assistant.retrieval.lexical import BM25_B, BM25_K1, TOKENIZER, LexicalIndex, Segment, build_segment, load_bm25
from assistant.retrieval.names import contribution
from assistant.store import Store

FORMAT = 3  # 2 added titles to docs.json, 3 each segment's name-index share; bump when the layout changes: older indexes are rebuilt from the store
MANIFEST, PENDING, LOCK, NAMES_PART = "manifest.json", "pending.jsonl", "lock", "names.json"
MERGE_SEGMENTS = 8  # more deltas than this are merged into one (each costs a vocabulary lookup per query word)
# Deltas holding over 10% of the papers (at least 2,000) are folded into a new base: their per-segment length
# normalisation is the one approximation (docs/scaling.md), and rebuilding 100k papers costs about a minute.
MERGE_FRACTION, MERGE_MIN = 0.10, 2000
DEAD_FRACTION = 0.20  # a base with over 20% tombstoned rows is rebuilt
_READ = 500  # papers read from the store per call while building


def open_index(store: Store, quiet: bool = True) -> LexicalIndex:
    """The store's lexical index, loaded memory-mapped; built, repaired or brought up to date first if needed.

    A directory that cannot be written (a read-only store) gets an index built in memory, with a message."""
    path = store.index_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            return _Files(store, path, quiet).current()
    except OSError as exc:
        print(f"paperchat: cannot write the lexical index at {path} ({exc}); building it in memory for this run "
              f"(slow for a large store) — give write access or set PAPERCHAT_INDEX_DIR", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            return _Files(store, Path(tmp), quiet).current(mmap=False)


def name_parts(lexical: LexicalIndex) -> list[tuple[dict, set[str]]] | None:
    """Each loaded segment's share of the name index with its live papers, oldest first; None when a segment has
    none (built in memory, written before shares existed, or compacted away meanwhile)."""
    out = []
    for seg in lexical.segments:
        if seg.path is None:
            return None
        try:
            part = json.loads((seg.path / NAMES_PART).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        out.append((part, {pid for pid, dead in zip(seg.ids, seg.dead, strict=True) if not dead}))
    return out


def note_pending(store: Store, ids: Iterable[str]) -> None:
    """Record that these papers are about to be written or removed (before the store is touched)."""
    ids = list(ids)
    if not ids:
        return
    store.index_path.mkdir(parents=True, exist_ok=True)
    with _locked(store.index_path), open(store.index_path / PENDING, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(pid) + "\n" for pid in ids))
        f.flush()
        os.fsync(f.fileno())


def update_index(store: Store, ids: Iterable[str] = (), quiet: bool = True) -> LexicalIndex:
    """Bring the index up to date for these papers (and any pending ones) after the store was written."""
    store.index_path.mkdir(parents=True, exist_ok=True)
    with _locked(store.index_path):
        files = _Files(store, store.index_path, quiet)
        return files.current(extra=list(ids))


@contextmanager
def _locked(path: Path):
    with open(path / LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class _Files:
    """One index directory: read the manifest and segments, write new ones atomically."""

    def __init__(self, store: Store, path: Path, quiet: bool):
        self.store, self.path, self.quiet = store, path, quiet

    # -- reading ---------------------------------------------------------------------------------------------
    def manifest(self) -> dict | None:
        try:
            m = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        wanted = {"format": FORMAT, "tokenizer": TOKENIZER, "k1": BM25_K1, "b": BM25_B}
        ok = all(m.get(k) == v for k, v in wanted.items()) and all((self.path / s["dir"]).is_dir()
                                                                   for s in m.get("segments", []))
        return m if ok else None

    def load(self, mmap: bool = True) -> LexicalIndex:
        m = self.manifest() or {"segments": []}
        return LexicalIndex([self._segment(s, mmap) for s in m["segments"]])

    def _segment(self, entry: dict, mmap: bool) -> Segment:
        d = self.path / entry["dir"]
        docs = json.loads((d / "docs.json").read_text(encoding="utf-8"))
        dead = np.zeros(len(docs["ids"]), dtype=bool)
        dead[np.asarray(entry.get("dead", []), dtype=np.int64)] = True
        return Segment(load_bm25(d, mmap=mmap), docs["ids"], docs["hashes"], np.load(d / "dates.npy"), dead,
                       docs["titles"], d)

    def pending(self) -> list[str]:
        try:
            lines = (self.path / PENDING).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # the torn last line of a killed writer: its Chroma write never started
                continue
        return list(dict.fromkeys(out))

    # -- bringing it up to date ------------------------------------------------------------------------------
    def current(self, extra: list[str] = (), reconcile: bool = True, mmap: bool = True) -> LexicalIndex:
        """The index, rebuilt if missing or stale, with pending (and `extra`) papers applied."""
        if self.manifest() is None:
            self.rebuild()
        todo = list(dict.fromkeys(self.pending() + list(extra)))
        if todo:
            self.apply(todo)
        index = self.load(mmap)
        if reconcile and len(index) != self.store.paper_count():
            # Written by something that did not update this index (another paperchat version, another host).
            stored = {pid: st.content_hash for pid, st in self.store.paper_states().items()}
            have = index.hashes()
            diff = [p for p in stored if have.get(p) != stored[p]] + [p for p in have if p not in stored]
            if not self.quiet:
                print(f"paperchat: the lexical index of {self.store.where} is behind the store by {len(diff)} "
                      "papers; updating it", file=sys.stderr, flush=True)
            self.apply(diff)
            index = self.load(mmap)
        return index

    def apply(self, ids: list[str]) -> None:
        """Re-index these papers from the store: tombstone their old rows, add their stored versions."""
        m = self.manifest() or self._empty()
        index = self.load()
        states = self.store.paper_states(ids)
        have = index.hashes()
        changed = [p for p in ids if have.get(p) != (states[p].content_hash if p in states else None)]
        if changed:
            dead = {e["dir"]: set(e.get("dead", [])) for e in m["segments"]}
            for pid in changed:
                if pid in index:
                    seg = int(np.searchsorted(index.offsets, index.row(pid), side="right")) - 1
                    dead[m["segments"][seg]["dir"]].add(index.row(pid) - int(index.offsets[seg]))
            for e in m["segments"]:
                e["dead"] = sorted(dead[e["dir"]])
            added = [p for p in changed if p in states]
            if added:
                entry = self._write_segment(self._read(added), {p: states[p].content_hash for p in added})
                if entry:
                    m["segments"].append(entry)
            m["papers"] = len(index) - sum(p in index for p in changed) + len(added)
            self._commit(m)
        self._clear_pending()
        self._compact()

    def _compact(self) -> None:
        m = self.manifest()
        if not m or len(m["segments"]) < 2:
            return
        index = self.load()
        base_rows = int(index.offsets[1])
        delta_live = len(index) - int((~index.dead[:base_rows]).sum())
        if delta_live > max(MERGE_MIN, MERGE_FRACTION * len(index)) or index.dead[:base_rows].sum() > DEAD_FRACTION * base_rows:
            self.rebuild()
        elif len(m["segments"]) - 1 > MERGE_SEGMENTS:
            ids = [p for p in index.live_ids() if index.row(p) >= base_rows]
            hashes = index.hashes()
            entry = self._write_segment(self._read(ids), {p: hashes[p] for p in ids})
            m["segments"] = m["segments"][:1] + ([entry] if entry else [])
            self._commit(m)

    def rebuild(self) -> None:
        """A new single-segment index of every paper in the store."""
        states = self.store.paper_states()
        if not self.quiet:
            print(f"paperchat: building the lexical index of {self.store.where} ({len(states)} papers)",
                  file=sys.stderr, flush=True)
        m = self._empty()
        entry = self._write_segment(self._read(list(states)), {p: st.content_hash for p, st in states.items()})
        if entry:
            m["segments"].append(entry)
        m["papers"] = len(states) if entry else 0
        self._commit(m)
        self._clear_pending()

    # -- writing ---------------------------------------------------------------------------------------------
    def _empty(self) -> dict:
        return {"format": FORMAT, "tokenizer": TOKENIZER, "k1": BM25_K1, "b": BM25_B, "papers": 0, "segments": []}

    def _read(self, ids: list[str]) -> list[StoredPaper]:
        out: list[StoredPaper] = []
        for start in range(0, len(ids), _READ):
            out.extend(self.store.get_papers(ids[start:start + _READ]).values())
        return out

    def _write_segment(self, papers: list[StoredPaper], hashes: dict[str, str]) -> dict | None:
        if not papers:
            return None
        seg = build_segment(papers)
        seg.hashes = [hashes.get(p.id, p.content_hash) for p in papers]  # the bookkeeping's hash decides
        name = f"seg-{uuid.uuid4().hex[:12]}"
        tmp = self.path / f"tmp-{name}"
        seg.bm25.save(str(tmp), show_progress=False)
        (tmp / "docs.json").write_text(json.dumps({"ids": seg.ids, "hashes": seg.hashes, "titles": seg.titles}), encoding="utf-8")
        np.save(tmp / "dates.npy", seg.dates)
        (tmp / NAMES_PART).write_text(json.dumps(contribution(papers)), encoding="utf-8")
        for f in tmp.iterdir():
            _fsync(f)
        os.replace(tmp, self.path / name)
        return {"dir": name, "dead": []}

    def _commit(self, manifest: dict) -> None:
        tmp = self.path / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest), encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, self.path / MANIFEST)
        _fsync(self.path)
        used = {e["dir"] for e in manifest["segments"]}
        for d in self.path.iterdir():  # segments no manifest refers to, and a killed writer's temp files
            if d.is_dir() and d.name not in used:
                shutil.rmtree(d, ignore_errors=True)

    def _clear_pending(self) -> None:
        try:
            os.remove(self.path / PENDING)
        except FileNotFoundError:
            pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
