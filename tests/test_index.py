"""The persistent lexical index and per-paper bookkeeping, on a real Chroma in tmp_path with the real embedder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.corpus import ingest_paths, open_corpus, remove_papers
from assistant.records import Paper, StoredPaper
from assistant.retrieval.hybrid import Library
from assistant.retrieval.index import MANIFEST, PENDING, open_index
from assistant.retrieval.lexical import LexicalIndex, build_segment
from assistant.settings import load_settings
from assistant.store import PAPERS_SUFFIX, Store
from ingest.chunk import chunk_paper
from tests.conftest import ROOT

TOPICS = ["graph neural networks for molecules", "speech recognition with transformers", "malaria vaccine trials",
          "protein folding prediction", "image segmentation of tumours", "reinforcement learning for robots"]


def _rows(n: int, prefix: str = "p") -> list[dict]:
    return [{"id": f"{prefix}{i}", "title": f"Study {prefix}{i} of {TOPICS[i % len(TOPICS)]}",
             "abstract": f"We study {TOPICS[i % len(TOPICS)]} in setting {i}. Results improve by {i} points."}
            for i in range(n)]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _library(settings, embedder) -> Library:
    return Library(open_corpus(settings), embedder.embed)


def _no_scans(monkeypatch) -> None:
    def scan(*args, **kwargs):
        raise AssertionError("read every chunk")

    monkeypatch.setattr(Store, "iter_raw", scan)
    monkeypatch.setattr(Store, "papers", scan)


def test_a_second_process_loads_the_index_without_scanning_the_store(tmp_path, embedder, monkeypatch):
    settings = load_settings(store=tmp_path / "s")
    ingest_paths([_jsonl(tmp_path / "a.jsonl", _rows(12))], settings, embedder=embedder)
    assert (open_corpus(settings).index_path / MANIFEST).is_file()
    _no_scans(monkeypatch)
    lib = _library(settings, embedder)
    assert len(lib) == len(lib.papers) == 12 and "p3" in lib.papers and "zz" not in lib.papers
    assert lib.search(lib.query("malaria vaccine trials"), k=3)[0].paper.title.endswith("malaria vaccine trials")
    assert open_corpus(settings).stats() == {"papers": 12, "chunks": 12}
    assert set(open_corpus(settings).paper_states()) == {f"p{i}" for i in range(12)}


def test_added_changed_and_removed_papers_update_the_index_in_segments(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    rows = _rows(10)
    src = _jsonl(tmp_path / "a.jsonl", rows)
    ingest_paths([src], settings, embedder=embedder)
    ingest_paths([_jsonl(tmp_path / "b.jsonl", [{"id": "new", "title": "Zebrafish fin regeneration",
                                                  "abstract": "Zebrafish regrow fins after amputation."}])],
                 settings, embedder=embedder)
    rows[2]["abstract"] = "Quantum annealing schedules for portfolio optimisation."
    ingest_paths([_jsonl(src, rows)], settings, embedder=embedder)
    remove_papers(settings, ["p5"])
    lib = _library(settings, embedder)
    assert len(lib.lexical.segments) == 3 and len(lib) == 10  # base + two deltas; p2's and p5's base rows dead
    assert lib.lexical.live_ids().count("p2") == 1 and "p5" not in lib.papers
    assert lib.search(lib.query("zebrafish fin regeneration"), k=1)[0].id == "new"
    assert lib.search(lib.query("quantum annealing portfolio"), k=1)[0].id == "p2"
    assert "p5" not in [s.id for s in lib.search(lib.query("setting 5"), k=11)]
    assert lib.lexical.scores("quantum annealing")[lib.lexical.dead].max() == 0


def test_the_name_index_follows_added_changed_and_removed_papers_without_reading_them_all(tmp_path, embedder,
                                                                                          monkeypatch):
    """Each segment saves its papers' share of the name index: a new process merges shares, reading no paper, and
    the result owns exactly what a full build from the live papers owns."""
    from assistant.retrieval.names import NameIndex

    settings = load_settings(store=tmp_path / "s")
    rows = _rows(8) + [{"id": "hydra", "title": "Hydra: multi-head graph matching",
                        "abstract": "We present Hydra, a graph matcher."}]
    src = _jsonl(tmp_path / "a.jsonl", rows)
    ingest_paths([src], settings, embedder=embedder)
    ingest_paths([_jsonl(tmp_path / "b.jsonl", [{"id": "zfin", "title": "ZebraFin: fin regeneration atlas",
                                                  "abstract": "We introduce ZebraFin, an atlas of regrowing fins."}])],
                 settings, embedder=embedder)
    rows[-1] = {"id": "hydra", "title": "Medusa: multi-head decoding", "abstract": "We present Medusa, a decoder."}
    ingest_paths([_jsonl(src, rows)], settings, embedder=embedder)  # hydra's paper now names Medusa
    remove_papers(settings, ["p1"])
    read = []
    monkeypatch.setattr(Store, "get_papers", lambda self, ids: read.extend(ids) or {})
    names = _library(settings, embedder).names
    assert read == []  # merged from the segments' shares
    assert names.owner["zebrafin"] == "zfin" and names.owner["medusa"] == "hydra" and "hydra" not in names.owner
    monkeypatch.undo()
    lib = _library(settings, embedder)
    full = NameIndex.build_state(dict(lib.papers.items()))
    assert names.owner == full["owner"] and names.strength == full["strength"]


def test_idf_is_exact_across_segments_and_tombstones():
    papers = [StoredPaper(id=r["id"], title=r["title"], abstract=r["abstract"]) for r in _rows(30)]
    whole = LexicalIndex([build_segment(papers)])
    raw = np.asarray(whole.segments[0].bm25.get_scores_from_ids(whole.segments[0].bm25.get_tokens_ids(
        ["malaria", "vaccin", "robot"])))
    assert np.allclose(whole.scores("malaria vaccine robots"), raw, rtol=1e-5)  # one segment: bm25s's own scores
    a, b = build_segment(papers[:20]), build_segment(papers[20:] + [papers[3]])
    a.dead[3] = True  # papers[3] moved to the second segment
    split = LexicalIndex([a, b])
    order = [split.ids[i] for i in np.argsort(-split.scores("malaria vaccine"))[:5]]
    assert set(order) == {p.id for p in papers if "malaria" in p.title}


def test_a_store_written_by_an_earlier_paperchat_gets_its_bookkeeping_and_index_on_first_open(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    ingest_paths([_jsonl(tmp_path / "a.jsonl", _rows(8))], settings, embedder=embedder)
    store = open_corpus(settings)
    store.client.delete_collection(f"{store.collection.name}{PAPERS_SUFFIX}")  # what an earlier version left
    shutil.rmtree(store.index_path)
    store = open_corpus(settings)
    assert store.stats() == {"papers": 8, "chunks": 8} and not (store.index_path / MANIFEST).exists()
    lib = _library(settings, embedder)  # builds the index
    assert len(lib) == 8 and (store.index_path / MANIFEST).is_file()
    report = ingest_paths([_jsonl(tmp_path / "a.jsonl", _rows(8))], settings, embedder=embedder)
    assert report.unchanged == 8 and report.chunks_written == 0


def test_a_stale_or_foreign_index_is_detected_and_rebuilt(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    ingest_paths([_jsonl(tmp_path / "a.jsonl", _rows(6))], settings, embedder=embedder)
    store = open_corpus(settings)
    manifest = store.index_path / MANIFEST
    m = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(dict(m, format=-1)))
    assert len(open_index(store)) == 6 and json.loads(manifest.read_text())["format"] == m["format"]
    # A paper written without updating the index (another version, another host): the count differs.
    paper = Paper(id="x1", title="Written elsewhere", abstract="Coral reef bleaching events.")
    chunks = chunk_paper(paper)
    store.upsert(chunks, {"x1": paper}, embedder.embed([c.text for c in chunks]))
    store.record_papers([(c.paper_id, c.content_hash, c.n_chunks) for c in chunks])
    lib = _library(settings, embedder)
    assert len(lib) == 7 and lib.search(lib.query("coral reef bleaching"), k=1)[0].id == "x1"


_KILLED_CHILD = """
import sys, time
from pathlib import Path
from assistant import offline
offline.apply()
from assistant.corpus import ingest_paths
from assistant.settings import load_settings
import assistant.retrieval.index as index
import assistant.store as store_mod

stage, marker = sys.argv[1], Path(sys.argv[2])
def stall(original):
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        marker.write_text("now")
        time.sleep(120)
        return result
    return wrapper
if stage == "segment":  # the new segment is on disk, the manifest not yet replaced
    index._Files._write_segment = stall(index._Files._write_segment)
else:  # chunks of the first batch written, their bookkeeping not yet
    store_mod.Store.upsert = stall(store_mod.Store.upsert)
ingest_paths([Path(sys.argv[3])], load_settings(store=Path(sys.argv[4])))
"""


@pytest.mark.parametrize("stage", ["segment", "chunks"])
def test_kill_9_during_an_update_is_repaired_with_no_paper_lost_or_doubled(tmp_path, embedder, stage):
    settings = load_settings(store=tmp_path / "s")
    ingest_paths([_jsonl(tmp_path / "a.jsonl", _rows(20))], settings, embedder=embedder)
    new = _jsonl(tmp_path / "b.jsonl", _rows(20) + _rows(70, prefix="n"))  # 70 new: two write batches
    marker = tmp_path / "marker"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD, stage, str(marker), str(new), str(settings.store)],
                             env=env, stderr=subprocess.PIPE)
    while not marker.exists():
        assert child.poll() is None, child.stderr.read().decode()
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stderr.close()
    store = open_corpus(settings)
    assert stage == "chunks" or (store.index_path / PENDING).is_file()
    lib = _library(settings, embedder)  # repairs the index from the pending ids
    live = lib.lexical.live_ids()
    assert len(live) == len(set(live)) == store.paper_count()
    report = ingest_paths([new], settings, embedder=embedder)  # the interrupted ingest, run again
    assert report.added + report.unchanged == 90
    lib = _library(settings, embedder)
    live = lib.lexical.live_ids()
    assert sorted(live) == sorted(r["id"] for r in _rows(20) + _rows(70, prefix="n"))
    assert open_corpus(settings).stats() == {"papers": 90, "chunks": 90}
    assert not (store.index_path / PENDING).exists()
    assert [d.name for d in store.index_path.iterdir() if d.name.startswith("tmp-")] == []


def test_filters_apply_on_the_index_side_across_segments(tmp_path, embedder):
    from assistant.records import Filters

    settings = load_settings(store=tmp_path / "s")
    rows = [dict(r, published=f"{2010 + i}-06-01", authors=["Ada Lovelace" if i % 2 else "Alan Turing"])
            for i, r in enumerate(_rows(8))]
    ingest_paths([_jsonl(tmp_path / "a.jsonl", rows[:5])], settings, embedder=embedder)
    ingest_paths([_jsonl(tmp_path / "b.jsonl", rows[5:])], settings, embedder=embedder)  # a second segment
    lib = _library(settings, embedder)
    assert len(lib.lexical.segments) == 2
    q = lib.query("graph neural networks for molecules")  # p0 and p6
    assert [s.id for s in lib.search(q, k=8, filters=Filters.from_text(since="2015"))][:1] == ["p6"]
    assert {s.id for s in lib.search(q, k=8, filters=Filters.from_text(author="lovelace"))} <= {"p1", "p3", "p5", "p7"}
    assert [s.id for s in lib.search(q, k=8, filters=Filters(ids=("p2", "p6")))] in (["p6", "p2"], ["p6"])


def test_the_catalog_lists_papers_by_title_from_the_index_reading_only_those_shown(tmp_path, embedder, monkeypatch):
    settings = load_settings(store=tmp_path / "s")
    ingest_paths([_jsonl(tmp_path / "a.jsonl", _rows(12))], settings, embedder=embedder)
    lib = _library(settings, embedder)
    expected = sorted((p for p in open_corpus(settings).papers().values() if "malaria" in p.title.lower()),
                      key=lambda p: p.title.lower())
    read: list[str] = []
    real = Store.get_papers
    monkeypatch.setattr(Store, "get_papers", lambda self, ids: read.extend(ids) or real(self, ids))
    assert lib.catalog("MALARIA", 1) == expected[:1] and read == [expected[0].id]
    assert [p.id for p in lib.catalog("", 500)] == [p.id for p in sorted(lib.papers.values(), key=lambda p: p.title.lower())]
