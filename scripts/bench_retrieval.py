"""Retrieval benchmark: search latency on the demo store, SciFact and a synthetic store; peak RSS.

Prints numbers, asserts nothing. Run: python scripts/bench_retrieval.py [--skip-synthetic] [--chunks 100000]
(`make bench` runs scripts/bench.py, which compares against the textbook LlamaIndex recipe; this one breaks
paperchat's own latency into its stages and sentence-cache states.)
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import offline  # noqa: E402

offline.apply()

import numpy as np  # noqa: E402

from assistant.corpus import ingest_paths, open_corpus, open_for_writing  # noqa: E402
from assistant.embed import DIMENSION, MiniLMEmbedding  # noqa: E402
from assistant.evaluation.beir import beir_store, load_qrels  # noqa: E402
from assistant.evaluation.metrics import percentile  # noqa: E402
from assistant.evaluation.report import format_table  # noqa: E402
from assistant.records import Chunk, Paper  # noqa: E402
from assistant.retrieval.hybrid import RERANK_DEPTH, Library  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402

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


def _pcts(times: list[float]) -> dict:
    return {"p50": percentile(times, 50), "p95": percentile(times, 95), "mean": float(np.mean(times))}


def latency(library: Library, queries: list[str]) -> dict:
    """Hybrid search / embed / dense / BM25 latency percentiles in ms over the queries (after a short warm-up)."""
    for q in queries[:WARMUP]:
        library.search(library.query(q), k=10)
    vectors = {q: library.query(q).vector for q in queries}
    stages = {"search": lambda q: library.search(library.query(q), k=10), "embed": library.query,
              "dense": lambda q: library.store.dense(vectors[q], 60),
              "bm25": library.lexical.scores}
    out = {}
    for name, fn in stages.items():
        times = []
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = _pcts(times)
    return out


def ranking_latency(settings: Settings, embedder: MiniLMEmbedding, queries: list[str]) -> dict:
    """Assistant.retrieve (hybrid + sentence re-rank, what answers use) in three cache states, ms percentiles.

    cold: sentence vectors embedded at query time (store cache bypassed, as on a store nobody has queried);
    store: a new process reading them from the store's sentence cache; memory: the same process again.
    """
    def timed(a: Assistant) -> dict:
        times = []
        for q in queries:
            t0 = time.perf_counter()
            a.retrieve(q, k=10)
            times.append((time.perf_counter() - t0) * 1000)
        return _pcts(times)

    cold = Assistant(settings, embedder=embedder)
    cold.store.load_sentences = lambda keys: {}  # bypass the cache for this instance only
    cold.store.save_sentences = lambda *args: None
    for q in queries[:WARMUP]:
        cold.library.search(cold.library.query(q), k=10)
    out = {"cold": timed(cold)}
    fill = Assistant(settings, embedder=embedder)
    for q in queries:  # a first pass fills the store's cache (a no-op when earlier runs filled it)
        fill.retrieve(q, k=10)
    fresh = Assistant(settings, embedder=embedder)
    for q in queries[:WARMUP]:
        fresh.library.search(fresh.library.query(q), k=10)
    out["store"] = timed(fresh)
    out["memory"] = timed(fresh)
    return out


def timed_library(settings: Settings, embedder: MiniLMEmbedding) -> tuple[Library, float]:
    """A Library over the store and the seconds it took to build (metadata read + BM25 index)."""
    t0 = time.perf_counter()
    library = Library(open_corpus(settings), embedder.embed)
    return library, time.perf_counter() - t0


def fill_synthetic(settings: Settings, n_chunks: int, vocab: list[str], seed: int = 0) -> float:
    """A store of n_chunks one-chunk papers: random unit vectors and random-word texts; returns seconds."""
    rng = np.random.default_rng(seed)
    store = open_for_writing(settings)
    words = np.array(vocab)
    t0 = time.perf_counter()
    for start in range(0, n_chunks, UPSERT_BATCH):
        n = min(UPSERT_BATCH, n_chunks - start)
        vecs = rng.standard_normal((n, DIMENSION)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks, papers = [], {}
        for i in range(start, start + n):
            paper = Paper(id=f"synthetic-{i}", title=" ".join(rng.choice(words, 6)).capitalize(),
                          abstract=" ".join(rng.choice(words, 40)) + ".")
            papers[paper.id] = paper
            chunks.append(Chunk(id=f"{paper.id}#0", paper_id=paper.id, text=f"{paper.title}\n{paper.abstract}",
                                index=0, n_chunks=1, content_hash="synthetic"))
        store.upsert(chunks, papers, vecs)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=SHARED_EVAL / "external" / "scifact", help="BEIR SciFact dir")
    parser.add_argument("--queries", type=int, default=50, help="queries timed per store")
    parser.add_argument("--chunks", type=int, default=100_000, help="size of the synthetic store")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-scifact", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    base = load_settings()
    embedder = MiniLMEmbedding(threads=base.llm_threads, cache_dir=base.cache_dir)
    queries = bench_queries(args.queries, args.scifact)
    search_rows, rank_rows, rss = [], [], []
    tmp = tempfile.TemporaryDirectory(prefix="paperchat-bench-")

    def add_search(name: str, library: Library, build_s: float) -> None:
        lat = latency(library, queries)
        search_rows.append([name, len(library), library.n_chunks, *(f"{lat['search'][p]:.1f}" for p in
                                                                   ("p50", "p95", "mean")),
                            *(f"{lat[s]['p50']:.1f}" for s in ("embed", "dense", "bm25")), f"{build_s:.1f}"])
        rss.append(f"after {name}: {peak_rss_mb():.0f} MB")
        print(f"done: {name}", file=sys.stderr, flush=True)

    def add_ranking(name: str, settings: Settings) -> None:
        lat = ranking_latency(settings, embedder, queries)
        rank_rows.extend([[name, state, f"{v['p50']:.1f}", f"{v['p95']:.1f}", f"{v['mean']:.1f}"]
                          for state, v in lat.items()])

    if not args.skip_demo:
        settings = replace(base, store=Path(tmp.name) / "demo")
        ingest_paths([DEMO], settings, embedder=embedder)
        add_search("demo", *timed_library(settings, embedder))
        add_ranking("demo", settings)

    if not args.skip_scifact:
        settings, _ = beir_store(args.scifact / "corpus.jsonl", base, quiet=True)  # cached; built once
        add_search("SciFact", *timed_library(settings, embedder))
        add_ranking("SciFact", settings)

    if not args.skip_synthetic:
        vocab = sorted({w.lower().strip(".,;:()") for w in DEMO.read_text().split() if w.isalpha() and len(w) > 2})
        settings = replace(base, store=Path(tmp.name) / "synthetic")
        s = fill_synthetic(settings, args.chunks, vocab)
        print(f"synthetic upsert (precomputed vectors): {args.chunks} chunks in {s:.0f} s", file=sys.stderr)
        add_search(f"synthetic {args.chunks // 1000}k", *timed_library(settings, embedder))

    print(f"\nRetrieval latency, Library.search(k=10) incl. the query embedding, {len(queries)} queries after "
          f"{WARMUP} warm-up (ms; embedder threads={base.llm_threads})")
    print(format_table(["store", "papers", "chunks", "p50", "p95", "mean", "embed p50", "dense p50", "bm25 p50",
                        "library build s"], search_rows))
    if rank_rows:
        print(f"\nRanking latency, Assistant.retrieve(k=10) = search + re-rank of the top {RERANK_DEPTH} by best "
              f"sentence (ms; sentence vectors: cold = embedded now, store = read from the store's cache, "
              f"memory = already loaded)")
        print(format_table(["store", "sentence vectors", "p50", "p95", "mean"], rank_rows))
    print(f"\nPeak RSS: {peak_rss_mb():.0f} MB ({'; '.join(rss)})")
    # Latency on a shared 2-core machine depends on what else runs: the load average says how contended it was.
    print(f"Load average at start {load_start[0]:.1f}, at end {os.getloadavg()[0]:.1f} (1-min; {os.cpu_count()} CPUs)")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
