"""Scale benchmark: stores of 10k, 30k and 100k papers, start-up, CLI, retrieval, memory and ingest at each size.

Prints a table (not a test). Papers: the 5,183 real SciFact abstracts plus synthetic abstracts recombined from
their sentences (halves of two or three SciFact abstracts, a title built from theirs, a random date).
Vectors: SciFact chunks carry their real MiniLM vectors (read from the cached BEIR store, which `paperchat eval
--beir` builds); a synthetic chunk gets the normalised mean of its source papers' real chunk vectors plus
Gaussian noise (sigma 0.02 per dimension), written straight through the store layer, not through the embedder.
Only the 100 papers of the add-100 step are embedded for real, by `paperchat ingest`.
Stores are cached under --root (default /tmp/paperchat-scale) and grown from each other (10k -> 30k -> 100k).

    PYTHONPATH=$PWD python scripts/bench_scale.py [--sizes 10000,30000,100000] [--build-only]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import offline  # noqa: E402

offline.apply()

import numpy as np  # noqa: E402

from assistant.corpus import open_for_writing, remove_papers  # noqa: E402
from assistant.embed import MiniLMEmbedding  # noqa: E402
from assistant.evaluation.beir import beir_store, load_qrels  # noqa: E402
from assistant.records import Paper  # noqa: E402
from assistant.retrieval.index import update_index  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.store import INDEX_DIRNAME, open_store  # noqa: E402
from assistant.text import split_sentences  # noqa: E402
from ingest.chunk import chunk_paper  # noqa: E402
from ingest.parse import iter_records  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "external" / "scifact"
BUILD_VERSION = "1"  # bump when the synthetic recipe changes: cached stores are rebuilt
WRITE_BATCH = 1000  # papers per store write while building
NOISE = 0.02
QUESTIONS = 40  # SciFact test claims timed per size (after 3 warm-up queries)


def _papers(corpus: Path) -> list[Paper]:
    return [r for r in iter_records(corpus / "corpus.jsonl", "jsonl") if not isinstance(r, str)]


def _chunk_vectors(corpus: Path) -> dict[str, np.ndarray]:
    """Real chunk vectors of SciFact, from the cached BEIR store (built by `paperchat eval --beir` if missing)."""
    cache = Path("/tmp") / "paperchat-scale-scifact-vectors.npz"
    if cache.is_file():
        got = np.load(cache)
        return dict(zip(got["ids"].tolist(), got["vectors"], strict=True))
    settings, _ = beir_store(corpus / "corpus.jsonl", load_settings())
    got = open_store(settings, "", 384, other_embedder=True, quiet=True).collection.get(include=["embeddings"])
    ids, vectors = got["ids"], np.asarray(got["embeddings"], dtype=np.float32)
    np.savez(cache, ids=np.array(ids), vectors=vectors)
    return dict(zip(ids, vectors, strict=True))


def _synthetic(i: int, real: list[Paper], rng: random.Random) -> tuple[Paper, list[Paper]]:
    """Synthetic paper i: halves of 2-3 real abstracts, a recombined title, a random date."""
    sources = rng.sample(real, rng.choice((2, 3)))
    sentences: list[str] = []
    for p in sources:
        sents = split_sentences(p.abstract) or [p.abstract]
        start = rng.randrange(max(1, len(sents) // 2))
        sentences += sents[start:start + max(1, len(sents) // 2)]
    words = sources[0].title.split()[: rng.randint(3, 7)] + sources[1].title.split()[-rng.randint(2, 4):]
    date = f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return Paper(id=f"syn-{i:06d}", title=" ".join(words), abstract=" ".join(sentences), published=date,
                 source="synthetic"), sources


def _corpus(n: int, real: list[Paper]) -> list[tuple[Paper, list[Paper]]]:
    rng = random.Random(0)
    out = [(p, [p]) for p in real[:n]]
    out += [_synthetic(i, real, rng) for i in range(max(0, n - len(real)))]
    return out


def build(n: int, root: Path, real: list[Paper], vectors: dict[str, np.ndarray], previous: Path | None) -> Path:
    """A cached store of the first n papers (grown from a smaller cached store when there is one)."""
    d = root / f"{n // 1000}k"
    marker = d / "built.json"
    if marker.is_file() and json.loads(marker.read_text()).get("version") == BUILD_VERSION:
        return d
    shutil.rmtree(d, ignore_errors=True)
    start_at = 0
    if previous is not None:
        shutil.copytree(previous, d)
        (d / "built.json").unlink()
        start_at = json.loads((previous / "built.json").read_text())["papers"]
    d.mkdir(parents=True, exist_ok=True)
    settings = load_settings(store=d / "chroma")
    store = open_for_writing(settings, embedder=None, quiet=True)
    corpus = _corpus(n, real)
    rng = np.random.default_rng(start_at)
    t0 = time.perf_counter()
    for s in range(start_at, n, WRITE_BATCH):
        batch = corpus[s:s + WRITE_BATCH]
        chunks, vecs = [], []
        for paper, sources in batch:
            mean = None
            for chunk in chunk_paper(paper):
                v = vectors.get(chunk.id) if paper.source != "synthetic" else None
                if v is None:
                    if mean is None:
                        src = [vectors[f"{p.id}#{i}"] for p in sources for i in range(8) if f"{p.id}#{i}" in vectors]
                        mean = np.mean(src, axis=0)
                    v = mean + rng.normal(0, NOISE, mean.shape)
                chunks.append(chunk)
                vecs.append(v / np.linalg.norm(v))
        store.upsert(chunks, {p.id: p for p, _ in batch}, np.asarray(vecs, dtype=np.float32))
        store.record_papers([(c.paper_id, c.content_hash, c.n_chunks) for c in chunks if c.index == 0])
        print(f"  {n // 1000}k: {s + len(batch)}/{n} papers written ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    shutil.rmtree(d / "chroma" / INDEX_DIRNAME, ignore_errors=True)
    update_index(store)  # the lexical index, built once from the store
    with open(d / "papers.jsonl", "w", encoding="utf-8") as f:
        for p, _ in corpus:
            f.write(json.dumps({"id": p.id, "title": p.title, "abstract": p.abstract, "published": p.published}) + "\n")
    marker.write_text(json.dumps({"version": BUILD_VERSION, "papers": n, "seconds": time.perf_counter() - t0}))
    return d


def _cli(args: list[str], store: Path) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PAPERCHAT_STORE=str(store), PAPERCHAT_EXTRACTIVE="1")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"paperchat {' '.join(args)} failed: {out.stderr[-2000:]}")
    return time.perf_counter() - t0, out.stdout


def _serve(store: Path, question: str) -> tuple[float, float, float]:
    """(seconds from `paperchat serve` to HTTP ready, to the first answer, peak RSS MB of the serve process)."""
    from gradio_client import Client

    from tests.conftest import free_port

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), PAPERCHAT_STORE=str(store), PAPERCHAT_EXTRACTIVE="1")
    t0 = time.perf_counter()
    log = open(store.parent / "serve.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit("paperchat serve exited")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        ready = time.perf_counter() - t0
        try:
            Client(f"http://127.0.0.1:{port}/", download_files=False, verbose=False).predict(
                question, [], True, api_name="/ask")
            answered = time.perf_counter() - t0
        except Exception as exc:  # the UI's API changed: the ready time is still measured
            print(f"  first answer through the UI failed: {exc} (see {store.parent / 'serve.log'})", file=sys.stderr)
            answered = float("nan")
        rss = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return ready, answered, rss


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _latency(store: Path, queries: list[str]) -> tuple[float, float]:
    """p50/p95 ms of hybrid retrieval (question embedding, BM25 + dense, fusion, papers read), in process."""
    from assistant.service import Assistant

    a = Assistant(load_settings(store=store, extractive=True))
    lib = a.library
    for q in queries[:3]:
        lib.search(lib.query(q), k=5)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        lib.search(lib.query(q), k=5)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


_WORK = """
import json, sys, time
from assistant import offline
offline.apply()
import chromadb, llama_index.core, onnxruntime  # the import floor, paid before the clock starts
from assistant.corpus import open_corpus
from assistant.service import Assistant
from assistant.settings import load_settings
t0 = time.perf_counter()
open_corpus(load_settings(store=sys.argv[1])).stats()
t1 = time.perf_counter()
Assistant(load_settings(store=sys.argv[1], extractive=True)).retrieve(sys.argv[2])
print(json.dumps({"stats_work_s": t1 - t0, "ask_work_s": time.perf_counter() - t1}))
"""


def _work(store: Path, question: str) -> dict:
    """`stats` and `ask --retrieve-only` in one fresh process, timed after the SDK imports (our code's own cost)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _WORK, str(store), question], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure(d: Path, real: list[Paper], queries: list[str]) -> dict:
    store = d / "chroma"
    row: dict = {"papers": json.loads((d / "built.json").read_text())["papers"]}
    row["serve_ready_s"], row["serve_start_s"], row["rss_mb"] = _serve(store, queries[0])
    row["ask_cold_s"], _ = _cli(["ask", "--retrieve-only", queries[1]], store)
    row["stats_s"], out = _cli(["stats", "--json"], store)
    row.update(_work(store, queries[2]))
    row["p50_ms"], row["p95_ms"] = _latency(store, queries)
    row["reingest_s"], _ = _cli(["ingest", str(d / "papers.jsonl"), "--quiet"], store)
    added = [f"new-{i:03d}" for i in range(100)]
    remove_papers(load_settings(store=store), added)  # left by an interrupted earlier run
    new = d / "new100.jsonl"
    rng = random.Random(row["papers"])
    with open(new, "w", encoding="utf-8") as f:
        for i in range(100):
            p, _ = _synthetic(900000 + i, real, rng)
            f.write(json.dumps({"id": f"new-{i:03d}", "title": p.title, "abstract": p.abstract}) + "\n")
    row["add100_s"], _ = _cli(["ingest", str(new), "--quiet"], store)
    remove_papers(load_settings(store=store), added)  # the cached store (and its index) is left as it was
    row["disk_mb"] = _du_mb(store)
    row["index_mb"] = _du_mb(store / INDEX_DIRNAME)
    return row


def segments_effect(queries: dict[str, str]) -> None:
    """SciFact nDCG@10 with one BM25 segment vs a 90% base + 10% delta with 5% of the base moved (tombstoned)."""
    from assistant.corpus import open_corpus
    from assistant.evaluation.metrics import mean, ndcg_at_k
    from assistant.retrieval.hybrid import Library
    from assistant.retrieval.lexical import LexicalIndex, build_segment

    settings, beir_ids = beir_store(SCIFACT / "corpus.jsonl", load_settings())
    store = open_corpus(settings)
    papers = list(store.papers().values())
    random.Random(0).shuffle(papers)
    cut = int(0.9 * len(papers))
    moved = random.Random(1).sample(range(cut), int(0.05 * cut))
    base, delta = build_segment(papers[:cut]), build_segment(papers[cut:] + [papers[i] for i in moved])
    base.dead[moved] = True
    qrels = load_qrels(SCIFACT / "qrels" / "test.tsv")
    embed = MiniLMEmbedding().embed
    for name, lexical in (("one segment", LexicalIndex([build_segment(papers)])),
                          ("base 90% + delta 10%, 5% of base tombstoned", LexicalIndex([base, delta]))):
        lib = Library(store, embed, lexical=lexical)
        bm25, hybrid = [], []
        for qid, rel in qrels.items():
            scores = lexical.scores(queries[qid])
            top = [beir_ids.get(lexical.ids[i], lexical.ids[i]) for i in np.argsort(-scores)[:10] if scores[i] > 0]
            bm25.append(ndcg_at_k(top, rel, 10))
            found = lib.search(lib.query(queries[qid]), k=10)
            hybrid.append(ndcg_at_k([beir_ids.get(s.id, s.id) for s in found], rel, 10))
        print(f"{name}: BM25 nDCG@10 {mean(bm25):.4f}, hybrid nDCG@10 {mean(hybrid):.4f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--root", type=Path, default=Path("/tmp/paperchat-scale"))
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--segments-effect", action="store_true", help="only measure the segmented index on SciFact")
    ap.add_argument("--work-only", action="store_true", help="only the after-import stats/ask times per size")
    args = ap.parse_args()
    texts = {str(json.loads(ln)["_id"]): json.loads(ln)["text"]
             for ln in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()}
    if args.segments_effect:
        return segments_effect(texts)
    real = _papers(SCIFACT)
    vectors = _chunk_vectors(SCIFACT)
    queries = [texts[q] for q in load_qrels(SCIFACT / "qrels" / "test.tsv")][:QUESTIONS]
    sizes = [int(s) for s in args.sizes.split(",")]
    dirs, previous = [], None
    for n in sizes:
        previous = build(n, args.root, real, vectors, previous)
        dirs.append(previous)
    if args.build_only:
        return
    if args.work_only:
        for d in dirs:
            print(d.name, {k: round(v, 2) for k, v in _work(d / "chroma", queries[2]).items()}, flush=True)
        return
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    print(f"CPU: {cpu}, {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}")
    for mods in ("chromadb", "chromadb, llama_index.core, onnxruntime"):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {mods}"], check=True, capture_output=True)
        print(f"import floor (same run): python -c 'import {mods}' = {time.perf_counter() - t0:.1f} s")
    cols = ["papers", "serve_ready_s", "serve_start_s", "ask_cold_s", "ask_work_s", "stats_s", "stats_work_s",
            "p50_ms", "p95_ms", "rss_mb",
            "reingest_s", "add100_s", "disk_mb", "index_mb"]
    print("| " + " | ".join(cols) + " |")
    print("|" + " --- |" * len(cols))
    rows = []
    for d in dirs:
        row = measure(d, real, queries)
        rows.append(row)
        print("| " + " | ".join(f"{row[c]:.0f}" if c == "papers" else f"{row[c]:.2f}" for c in cols) + " |",
              flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    last = rows[-1]
    print(f"{last['papers'] // 1000}k: " + " ".join(
        f"{k}={last[k]:.{0 if k.endswith('_mb') or k.endswith('_ms') else 1}f}"
        for k in ("serve_start_s", "ask_cold_s", "stats_s", "p95_ms", "rss_mb", "reingest_s", "add100_s")))


if __name__ == "__main__":
    main()
