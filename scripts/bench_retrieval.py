"""Retrieval benchmark: search latency on the demo store, SciFact and 100k synthetic chunks; ingest speed; peak RSS.

Prints numbers, asserts nothing. Run: .venv/bin/python scripts/bench_retrieval.py [--skip-100k] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from assistant.answer import RERANK_DEPTH
from assistant.retrieve import Retriever

import assistant  # noqa: F401  (offline environment before third-party imports)
from assistant.corpus import ingest_paths
from assistant.embed import DIMENSION, MiniLMEmbedding
from assistant.evaluate import beir_store, format_table, load_qrels, percentile
from assistant.hashing import file_sha256
from assistant.settings import Settings, load_settings
from assistant.store import open_store

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "daily-papers.txt"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
UPSERT_BATCH = 5000  # below Chroma's SQLite limit of 5,461 rows per call
WARMUP = 3  # first queries pay for ONNX session and HNSW page-in; keep them out of the percentiles


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_queries(n: int, scifact: Path) -> list[str]:
    """The dev questions plus SciFact test claims, n in all: the same set for every store so rows compare."""
    dev = [json.loads(line)["question"] for line in (SHARED_EVAL / "dev_questions.jsonl").read_text().splitlines()
           if line.strip()]
    claims = {}
    for line in (scifact / "queries.jsonl").read_text().splitlines():
        if line.strip():
            obj = json.loads(line)
            claims[obj["_id"]] = obj["text"]
    test = [claims[q] for q in load_qrels(scifact / "qrels" / "test.tsv") if q in claims]
    pool = dev + test
    return [pool[i % len(pool)] for i in range(n)]


def latency(retriever: Retriever, queries: list[str]) -> dict:
    """search / dense / BM25 latency percentiles in ms over the queries (after a short warm-up)."""
    for q in queries[:WARMUP]:
        retriever.search(q, k=10)
    out = {}
    for name, fn in (("search", lambda q: retriever.search(q, k=10)), ("dense", retriever.dense_scores),
                     ("bm25", retriever.bm25_scores)):
        times = []
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50": percentile(times, 50), "p95": percentile(times, 95), "mean": float(np.mean(times))}
    return out


def ranking_latency(settings: Settings, embedder: MiniLMEmbedding, queries: list[str]) -> dict:
    """Assistant.retrieve (hybrid + sentence re-rank, what answers use) in three cache states, ms percentiles.

    cold: sentence vectors embedded at query time (store cache bypassed, as on a store nobody has queried);
    store: a new process reading them from the store's sentence cache; memory: the same process again.
    """
    from assistant.service import Assistant

    def timed(a: Assistant) -> dict:
        times = []
        for q in queries:
            t0 = time.perf_counter()
            a.retrieve(q, k=10)
            times.append((time.perf_counter() - t0) * 1000)
        return {"p50": percentile(times, 50), "p95": percentile(times, 95), "mean": float(np.mean(times))}

    cold = Assistant(settings, embedder=embedder)
    cold.store.load_sentences = lambda keys: {}  # bypass the cache for this instance only
    cold.store.save_sentences = lambda *args: None
    for q in queries[:WARMUP]:
        cold.retriever.search(q, k=10)
    out = {"cold": timed(cold)}
    fill = Assistant(settings, embedder=embedder)
    for q in queries:  # a first pass fills the store's cache (a no-op when earlier runs filled it)
        fill.retrieve(q, k=10)
    fresh = Assistant(settings, embedder=embedder)
    for q in queries[:WARMUP]:
        fresh.retriever.search(q, k=10)
    out["store"] = timed(fresh)
    out["memory"] = timed(fresh)
    return out


def timed_retriever(settings: Settings, embedder: MiniLMEmbedding) -> tuple[Retriever, float]:
    """A Retriever over the store and the seconds it took to build (metadata read + BM25 index)."""
    t0 = time.perf_counter()
    retriever = Retriever(open_store(settings), embedder)
    return retriever, time.perf_counter() - t0


def timed_ingest(paths: list[Path], settings: Settings, embedder: MiniLMEmbedding) -> tuple[int, float]:
    """(papers seen, seconds) for one ingest run."""
    t0 = time.perf_counter()
    report = ingest_paths(paths, settings, embedder=embedder, skip_invalid=True)
    return report.added + report.updated + report.unchanged, time.perf_counter() - t0


def fill_synthetic(settings: Settings, n_chunks: int, vocab: list[str], seed: int = 0) -> float:
    """A store of n_chunks one-chunk papers: random unit vectors and random-word texts; returns seconds."""
    rng = np.random.default_rng(seed)
    store = open_store(settings, create=True)
    words = np.array(vocab)
    t0 = time.perf_counter()
    for start in range(0, n_chunks, UPSERT_BATCH):
        n = min(UPSERT_BATCH, n_chunks - start)
        vecs = rng.standard_normal((n, DIMENSION)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        ids, texts, metas = [], [], []
        for i in range(start, start + n):
            title = " ".join(rng.choice(words, 6)).capitalize()
            abstract = " ".join(rng.choice(words, 40)) + "."
            pid = f"synthetic-{i}"
            ids.append(f"{pid}#0")
            texts.append(f"{title}\n{abstract}")
            metas.append({"paper_id": pid, "title": title, "abstract": abstract, "chunk": 0, "n_chunks": 1,
                          "content_hash": "synthetic", "published_int": 0})
        store.upsert(ids, texts, vecs.tolist(), metas)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=SHARED_EVAL / "external" / "scifact", help="BEIR SciFact dir")
    parser.add_argument("--queries", type=int, default=50, help="queries timed per store")
    parser.add_argument("--chunks", type=int, default=100_000, help="size of the synthetic store")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-scifact", action="store_true")
    parser.add_argument("--skip-100k", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true", help="no fresh SciFact ingest (use the cache's timing)")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    base = load_settings()
    embedder = MiniLMEmbedding(threads=base.llm_threads, cache_dir=base.cache_dir)
    queries = bench_queries(args.queries, args.scifact)
    search_rows, ingest_rows, rank_rows, rss = [], [], [], []
    tmp = tempfile.TemporaryDirectory(prefix="paperchat-bench-")

    def add_search(name: str, retriever: Retriever, build_s: float) -> None:
        lat = latency(retriever, queries)
        chunks = retriever.store.count()
        search_rows.append([name, len(retriever), chunks, f"{lat['search']['p50']:.1f}", f"{lat['search']['p95']:.1f}",
                            f"{lat['search']['mean']:.1f}", f"{lat['dense']['p50']:.1f}", f"{lat['bm25']['p50']:.1f}",
                            f"{build_s:.1f}"])
        rss.append(f"after {name}: {peak_rss_mb():.0f} MB")
        print(f"done: {name}", file=sys.stderr, flush=True)

    def add_ranking(name: str, settings: Settings) -> None:
        lat = ranking_latency(settings, embedder, queries)
        rank_rows.extend([[name, state, f"{v['p50']:.1f}", f"{v['p95']:.1f}", f"{v['mean']:.1f}"]
                          for state, v in lat.items()])

    if not args.skip_demo:
        settings = replace(base, store=Path(tmp.name) / "demo")
        n, s = timed_ingest([DEMO], settings, embedder)
        ingest_rows.append(["demo, first ingest", n, f"{s:.1f}", f"{n / s:.1f} papers/s"])
        n, s = timed_ingest([DEMO], settings, embedder)
        ingest_rows.append(["demo, unchanged re-ingest", n, f"{s:.2f}", f"{n / s:.0f} papers/s"])
        add_search("demo", *timed_retriever(settings, embedder))
        add_ranking("demo", settings)

    if not args.skip_scifact:
        corpus = args.scifact / "corpus.jsonl"
        # The cache folder is named by the corpus's sha256 (see assistant.evaluate.beir_store).
        marker = base.cache_dir / "beir" / file_sha256(corpus)[:16] / "ingested.json"
        cached = marker.is_file()
        t0 = time.perf_counter()
        settings, ids = beir_store(corpus, base, quiet=True)
        if not cached:
            s = time.perf_counter() - t0
            ingest_rows.append(["SciFact, first ingest (cache build)", len(ids), f"{s:.0f}",
                                f"{len(ids) / s:.1f} abstracts/s"])
        elif not args.skip_ingest:
            fresh = replace(base, store=Path(tmp.name) / "scifact")
            n, s = timed_ingest([corpus], fresh, embedder)
            ingest_rows.append(["SciFact, first ingest (fresh store)", n, f"{s:.0f}", f"{n / s:.1f} abstracts/s"])
        else:
            info = json.loads(marker.read_text())
            # A resumed cache build only caught up the tail: its rate says nothing about a first ingest.
            rate = "n/a (cache was resumed)" if info.get("resumed") else \
                f"{info['documents'] / info['seconds']:.1f} abstracts/s"
            ingest_rows.append(["SciFact, first ingest (recorded in cache)", info["documents"],
                                f"{info['seconds']:.0f}", rate])
        n, s = timed_ingest([corpus], settings, embedder)
        ingest_rows.append(["SciFact, unchanged re-ingest", n, f"{s:.1f}", f"{n / s:.0f} papers/s"])
        add_search("SciFact", *timed_retriever(settings, embedder))
        add_ranking("SciFact", settings)

    if not args.skip_100k:
        vocab = sorted({w.lower().strip(".,;:()") for w in DEMO.read_text().split() if w.isalpha() and len(w) > 2})
        settings = replace(base, store=Path(tmp.name) / "synthetic")
        s = fill_synthetic(settings, args.chunks, vocab)
        ingest_rows.append(["synthetic upsert (precomputed vectors)", args.chunks, f"{s:.0f}",
                            f"{args.chunks / s:.0f} chunks/s"])
        add_search(f"synthetic {args.chunks // 1000}k", *timed_retriever(settings, embedder))

    print(f"\nRetrieval latency, Retriever.search(k=10), {len(queries)} queries after {WARMUP} warm-up (ms; "
          f"embedder threads={base.llm_threads})")
    print(format_table(["store", "papers", "chunks", "p50", "p95", "mean", "dense p50", "bm25 p50",
                        "retriever build s"], search_rows))
    if rank_rows:
        print(f"\nRanking latency, Assistant.retrieve(k=10) = search + re-rank of the top {RERANK_DEPTH} by best "
              f"sentence (ms; sentence vectors: cold = embedded now, store = read from the store's cache, "
              f"memory = already loaded)")
        print(format_table(["store", "sentence vectors", "p50", "p95", "mean"], rank_rows))
    print("\nIngest")
    print(format_table(["run", "items", "seconds", "rate"], ingest_rows))
    print(f"\nPeak RSS: {peak_rss_mb():.0f} MB ({'; '.join(rss)})")
    # Latency on a shared 2-core machine depends on what else runs: the load average says how contended it was.
    print(f"Load average at start {load_start[0]:.1f}, at end {os.getloadavg()[0]:.1f} (1-min; {os.cpu_count()} CPUs)")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
