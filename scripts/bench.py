"""`make bench`: paperchat against the textbook LlamaIndex recipe (scripts/textbook_pipeline.py), in one run.

Prints one Markdown table, ratios first (paperchat / textbook), absolute figures beside them, the CPU model and
the 1-minute load average at each measurement (the machine is shared: both sides are interleaved so load falls on
both alike). Prints numbers, asserts nothing.

    python scripts/bench.py              # ~15 min: 1,500 SciFact abstracts, 300 test queries, 5 cold runs each
    python scripts/bench.py --quick      # ~4 min: 300 abstracts, 60 queries, 3 cold runs, no full-corpus nDCG
    python scripts/bench.py --textbook-full   # also the textbook's nDCG@10 on all of SciFact (index cached)
    python scripts/bench.py --no-llm          # without the answer rows (embedded LLM, real Chromium; ~6 min)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import offline  # noqa: E402

offline.apply()

import textbook_pipeline as textbook  # noqa: E402  (scripts/ is on sys.path when this file runs)

from assistant.corpus import ingest_paths  # noqa: E402
from assistant.evaluation.beir import load_qrels  # noqa: E402
from assistant.evaluation.metrics import mean, ndcg_at_k, percentile  # noqa: E402
from assistant.hashing import file_sha256  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "external" / "scifact"
PY = sys.executable
HEAVY = ("llama_index.core", "gradio", "openai", "chromadb", "onnxruntime", "tokenizers", "bm25s", "tiktoken", "lxml",
         "bibtexparser", "pandas", "torch", "transformers")
# Issue 14's targets, shown beside the figures.
TARGETS = {"ingest": "≥ 1.6×", "reingest": "≥ 2,000/s", "stats": "≤ 1.0 s", "above_floor": "≤ 0.7 s",
           "ndcg": "no regression", "first_verified": "≤ 1.0 s p50", "first_token": "≤ 4 s p50, ≤ 6 s p95",
           "full": "≤ 8 s p50, ≤ 15 s p95", "fallbacks": "≤ 1 in 10", "cold_first_token": "≤ 10 s"}
DEMO = ROOT / "data" / "demo" / "daily-papers.txt"


def cpu_model() -> str:
    """The CPU's model name and the vector extensions that matter to the int8 embedder."""
    text = Path("/proc/cpuinfo").read_text()
    name = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "?")
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
    ext = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
    return f"{name}, {os.cpu_count()} cores ({', '.join(ext) or 'no AVX2'})"


def load() -> float:
    return os.getloadavg()[0]


@dataclass
class Run:
    """One child process: wall and CPU seconds, its output, and the load average when it started."""

    wall: float
    cpu: float
    out: str
    err: str
    load: float


def run(cmd: list[str], env: dict) -> Run:
    """Run a command to completion, timing it; a failure stops the benchmark with the child's stderr."""
    start_load = load()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    # The children's rusage grows by exactly this child (runs are sequential).
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return Run(wall, 0.0, out, err, start_load)


def timed(cmd: list[str], env: dict) -> Run:
    """run() with the child's own CPU time (user + sys)."""
    before = os.times()
    r = run(cmd, env)
    after = os.times()
    r.cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return r


def write_subset(n: int, folder: Path) -> tuple[Path, set[str]]:
    """N SciFact abstracts: every document a test query finds relevant, then the corpus in order up to N."""
    relevant = {d for docs in load_qrels(SCIFACT / "qrels" / "test.tsv").values() for d in docs}
    lines = [ln for ln in (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
    chosen = [ln for ln in lines if json.loads(ln)["_id"] in relevant][:n]
    ids = {json.loads(ln)["_id"] for ln in chosen}
    for ln in lines:
        if len(chosen) >= n:
            break
        if json.loads(ln)["_id"] not in ids:
            chosen.append(ln)
            ids.add(json.loads(ln)["_id"])
    path = folder / "subset.jsonl"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return path, ids


def split(path: Path, parts: int) -> list[Path]:
    """The corpus in `parts` consecutive files (ingested in turns by both sides)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    size = -(-len(lines) // parts)
    out = []
    for i in range(parts):
        p = path.with_name(f"part{i}.jsonl")
        p.write_text("\n".join(lines[i * size:(i + 1) * size]) + "\n", encoding="utf-8")
        out.append(p)
    return out


def queries(limit: int | None, ids: set[str] | None = None) -> list[tuple[str, str, set[str]]]:
    """SciFact test queries (id, text, relevant ids), those with a relevant document in `ids` when given."""
    text = {}
    for line in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            text[str(obj["_id"])] = obj["text"]
    rows = [(q, text[q], rel if ids is None else rel & ids)
            for q, rel in load_qrels(SCIFACT / "qrels" / "test.tsv").items() if q in text]
    rows = [r for r in rows if r[2]]
    return rows[:limit] if limit else rows


def imported(cmd: list[str], env: dict) -> list[str]:
    """Which of the heavy top-level packages a command imports (python -X importtime)."""
    r = run([PY, "-X", "importtime", *cmd], env)
    found = set()
    for line in r.err.splitlines():
        if line.startswith("import time:") and "|" in line:
            found.add(line.rsplit("|", 1)[1].strip())
    return [m for m in HEAVY if any(f == m or f.startswith(m + ".") for f in found)]


def fmt_range(loads: list[float]) -> str:
    lo, hi = min(loads), max(loads)
    return f"{lo:.1f}" if hi - lo < 0.15 else f"{lo:.1f}–{hi:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b and a > 0 and b > 0 else "—"  # a negative margin has no ratio


def med(values: list[float]) -> float:
    return percentile(values, 50) or 0.0


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (about 4 min)")
    parser.add_argument("--abstracts", type=int, help="SciFact abstracts ingested by each side (default 1500)")
    parser.add_argument("--queries", type=int, help="test queries for nDCG on the subset (default all 300)")
    parser.add_argument("--warm-queries", type=int, default=50, help="queries timed warm")
    parser.add_argument("--cold-runs", type=int, help="cold processes per command (default 5)")
    parser.add_argument("--no-beir", action="store_true", help="skip `paperchat eval --beir` on all of SciFact")
    parser.add_argument("--no-llm", action="store_true", help="skip the answer rows (embedded LLM, browser)")
    parser.add_argument("--questions", type=int, default=10,
                        help="dev questions timed per answer figure (10: the fallback target is 'at most 1 in 10')")
    parser.add_argument("--textbook-full", action="store_true",
                        help="also the textbook retriever's nDCG@10 on all of SciFact (first run builds its index)")
    args = parser.parse_args(argv)
    n_abstracts = args.abstracts or (300 if args.quick else 1500)
    n_queries = args.queries or (60 if args.quick else None)
    cold_runs = args.cold_runs or (3 if args.quick else 5)
    run_beir = not (args.no_beir or args.quick)

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    settings0 = load_settings()
    tmp = Path(tempfile.mkdtemp(prefix="paperchat-bench-"))
    pstore, tstore = tmp / "paperchat", tmp / "textbook"
    started = time.perf_counter()
    print(f"# paperchat vs textbook LlamaIndex — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    print(f"CPU: {cpu_model()}; load average at start {load():.1f}", flush=True)
    subset, ids = write_subset(n_abstracts, tmp)
    rows: list[list[str]] = []

    def add(row: list[str]) -> None:  # each row as soon as it is measured: a cut-short run still reports
        rows.append(row)
        print("| " + " | ".join(row) + " |", flush=True)
    notes: list[str] = []

    # -- ingest: both sides as cold CLI processes, in turns over consecutive parts of the same abstracts -------
    parts = split(subset, 1 if args.quick else 2)
    p_cmd = [PY, "-m", "assistant.cli", "ingest", "--store", str(pstore), "--quiet"]
    t_cmd = [PY, str(ROOT / "scripts" / "textbook_pipeline.py"), "ingest", "--store", str(tstore)]
    ingest_time = {"paperchat": 0.0, "textbook": 0.0}
    ingest_cpu = {"paperchat": 0.0, "textbook": 0.0}
    ingest_loads: list[float] = []
    for i, part in enumerate(parts):
        sides = [("paperchat", p_cmd[:4] + [str(part)] + p_cmd[4:]), ("textbook", t_cmd[:3] + [str(part)] + t_cmd[3:])]
        for side, cmd in sides if i % 2 == 0 else sides[::-1]:
            r = timed(cmd, env)
            ingest_time[side] += r.wall
            ingest_cpu[side] += r.cpu
            ingest_loads.append(r.load)
            print(f"ingest {side} {part.name}: {r.wall:.1f} s (cpu {r.cpu:.1f} s, load {r.load:.1f})", flush=True)
    p_rate, t_rate = n_abstracts / ingest_time["paperchat"], n_abstracts / ingest_time["textbook"]
    add([f"ingest, SciFact abstracts/s ({n_abstracts:,}, CLI process incl. start-up)", ratio(p_rate, t_rate),
                 f"{p_rate:.1f} ({ingest_time['paperchat']:.0f} s; cpu {ingest_cpu['paperchat']:.0f} s)",
                 f"{t_rate:.1f} ({ingest_time['textbook']:.0f} s; cpu {ingest_cpu['textbook']:.0f} s)",
                 TARGETS["ingest"], fmt_range(ingest_loads)])

    # -- unchanged re-ingest (in-process: the bookkeeping, not the interpreter's start) -------------------------
    psettings = load_settings(store=pstore)
    l0 = load()
    calls = []
    for _ in range(3):  # the first call in the process also imports chromadb and opens the store (~0.9 s here)
        t0, c0 = time.perf_counter(), time.process_time()
        again = ingest_paths([subset], psettings)
        calls.append((time.perf_counter() - t0, time.process_time() - c0))
    (re_s, re_cpu), (warm_s, _) = calls[0], min(calls[1:])
    r = timed(p_cmd[:4] + [str(subset)] + p_cmd[4:], env)
    add([f"unchanged re-ingest, papers/s ({again.unchanged:,} papers; in-process)", "—",
                 f"{again.unchanged / warm_s:,.0f} ({warm_s:.2f} s; the first call in the process "
                 f"{again.unchanged / re_s:,.0f}/s: {re_s:.2f} s, cpu {re_cpu:.2f} s; CLI process {r.wall:.1f} s)",
                 "re-embeds all (no change detection)", TARGETS["reingest"], fmt_range([l0, r.load])])

    # -- retrieval in this process: same queries, interleaved; first pass scores nDCG on the subset -------------
    assistant = Assistant(psettings)
    t_retriever = textbook.retriever(textbook.open_index(tstore))
    qs = queries(n_queries, ids)
    p_first, t_first, p_ndcg, t_ndcg, r_loads = [], [], [], [], [load()]

    def p_search(q: str) -> list[str]:
        return [s.id for s in assistant.retrieve(q, k=10)]

    def t_search(q: str) -> list[str]:
        return textbook.ranked_ids(t_retriever.retrieve(q))

    for q in qs[:3]:  # sessions and HNSW pages in; not timed
        p_search(q[1])
        t_search(q[1])
    for n, (_, text, rel) in enumerate(qs):
        for side in (("p", "t") if n % 2 == 0 else ("t", "p")):
            t0 = time.perf_counter()
            ranked = p_search(text) if side == "p" else t_search(text)
            ms = (time.perf_counter() - t0) * 1000
            (p_first if side == "p" else t_first).append(ms)
            (p_ndcg if side == "p" else t_ndcg).append(ndcg_at_k(ranked, rel, 10))
    r_loads.append(load())
    p_warm, t_warm = [], []
    for n, (_, text, _) in enumerate(qs[: args.warm_queries]):
        for side in (("p", "t") if n % 2 == 0 else ("t", "p")):
            t0 = time.perf_counter()
            p_search(text) if side == "p" else t_search(text)
            (p_warm if side == "p" else t_warm).append((time.perf_counter() - t0) * 1000)
    r_loads.append(load())
    for label, p, t in (("warm", p_warm, t_warm), ("first time", p_first, t_first)):
        for pct in (50, 95):
            a, b = percentile(p, pct), percentile(t, pct)
            add([f"retrieval p{pct} ms, {label} ({len(p)} queries, k=10)", ratio(a, b), f"{a:.1f}",
                         f"{b:.1f}", "", fmt_range(r_loads)])
    notes.append("retrieval: paperchat = `Assistant.retrieve` (hybrid BM25 + dense fused per paper, head re-ranked "
                 "by best sentence; 'first time' includes embedding the sentences of papers not seen before); "
                 "textbook = `index.as_retriever(similarity_top_k=10)`.")
    add([f"nDCG@10, SciFact test on the {n_abstracts:,}-abstract subset ({len(qs)} queries)",
                 ratio(mean(p_ndcg), mean(t_ndcg)), f"{mean(p_ndcg):.3f}", f"{mean(t_ndcg):.3f}", "",
                 fmt_range(r_loads)])
    assistant.close()

    # -- cold processes, round-robin -----------------------------------------------------------------------------
    question = qs[0][1]
    cold = {
        "python": [PY, "-c", "pass"],
        "chromadb": [PY, "-c", "import chromadb"],
        "floor": [PY, "-c", "import chromadb, llama_index.core"],
        "stats": [PY, "-m", "assistant.cli", "stats", "--store", str(pstore)],
        "retrieve": [PY, "-m", "assistant.cli", "ask", question, "--retrieve-only", "--json", "--store", str(pstore)],
        "textbook": [PY, str(ROOT / "scripts" / "textbook_pipeline.py"), "retrieve", question, "--store", str(tstore)],
    }
    walls: dict[str, list[float]] = {k: [] for k in cold}
    cpus: dict[str, list[float]] = {k: [] for k in cold}
    c_loads = []
    for _ in range(cold_runs):
        for name, cmd in cold.items():
            r = timed(cmd, env)
            walls[name].append(r.wall)
            cpus[name].append(r.cpu)
            c_loads.append(r.load)
    w = {k: med(v) for k, v in walls.items()}
    c = {k: med(v) for k, v in cpus.items()}
    cl = fmt_range(c_loads)
    add(["`stats` s, cold process (wall; cpu)", "—", f"{w['stats']:.2f}; {c['stats']:.2f}", "—",
                 TARGETS["stats"], cl])
    add(["`ask --retrieve-only` s, cold process (wall; cpu) vs textbook retrieve", ratio(w["retrieve"], w["textbook"]),
                 f"{w['retrieve']:.2f}; {c['retrieve']:.2f}", f"{w['textbook']:.2f}; {c['textbook']:.2f}", "", cl])
    add(["  … above the import floor, s (wall; cpu)", ratio(w["retrieve"] - w["floor"], w["textbook"] - w["floor"]),
                 f"{w['retrieve'] - w['floor']:+.2f}; {c['retrieve'] - c['floor']:+.2f}",
                 f"{w['textbook'] - w['floor']:+.2f}; {c['textbook'] - c['floor']:+.2f}", TARGETS["above_floor"], cl])
    add(["import floor `import chromadb, llama_index.core`, s (wall; cpu)", "", f"{w['floor']:.2f}; {c['floor']:.2f}",
                 "", "", cl])
    add(["  `import chromadb` alone; bare `python -c pass`, s (wall; cpu)", "",
                 f"{w['chromadb']:.2f}; {c['chromadb']:.2f} — {w['python']:.2f}; {c['python']:.2f}", "", "", cl])
    notes.append(f"cold processes: median of {cold_runs}, run round-robin; wall and CPU (user+sys) seconds — on a "
                 f"loaded machine CPU seconds are the steadier figure.")
    for name in ("stats", "retrieve"):
        heavy = imported(cold[name][1:], env)
        notes.append(f"`{' '.join(cold[name][3:5]) if name == 'stats' else 'ask --retrieve-only'}` imports: "
                     f"{', '.join(heavy) or 'none of ' + ', '.join(HEAVY)}")

    # -- SciFact nDCG@10 on the whole corpus (cached stores) -----------------------------------------------------
    if run_beir:
        marker = settings0.cache_dir / "beir" / file_sha256(SCIFACT / "corpus.jsonl")[:16] / "ingested.json"
        if not marker.is_file():
            notes.append("`paperchat eval --beir` builds its SciFact store first (once, ~6 min)")
        report = tmp / "beir.json"
        l0 = load()
        r = timed([PY, "-m", "assistant.cli", "eval", "--beir", str(SCIFACT), "--split", "test", "--report",
                   str(report)], env)
        m = json.loads(report.read_text())["metrics"]["beir"]
        t_full = textbook_full(settings0.cache_dir, env) if args.textbook_full else None
        add([f"nDCG@10, SciFact test, all {m['documents']:,} abstracts ({m['queries']} queries)",
                     ratio(m["assistant"]["nDCG@10"], t_full), f"{m['assistant']['nDCG@10']:.3f} "
                     f"(hybrid alone {m['hybrid']['nDCG@10']:.3f})",
                     f"{t_full:.3f}" if t_full else "(--textbook-full)", "0.730 before", fmt_range([l0, r.load])])
    if not (args.no_llm or args.quick):
        answers(tmp, env, args.questions, add, notes)
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average at end {load():.1f}\n", flush=True)
    print(f"CPU: {cpu_model()}")
    print("| figure | paperchat / textbook | paperchat | textbook | target | load |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    return 0


def answers(tmp: Path, env: dict, n: int, add, notes: list[str]) -> None:
    """The answer rows on the demo corpus: paperchat only (the textbook recipe has no verified answer path)."""
    store = tmp / "demo"
    r = timed([PY, "-m", "assistant.cli", "ingest", str(DEMO), "--store", str(store), "--quiet"], env)
    l0 = load()
    report = tmp / "answers.json"
    timed([PY, str(ROOT / "scripts" / "bench_answer.py"), "--n", str(n), "--store", str(store), "--report",
           str(report)], env)
    a = json.loads(report.read_text())
    loads = fmt_range([l0, load()])
    label = f"({a['n']} dev questions, warm, in-process)"
    add([f"first verified sentence, s {label}", "—", f"p50 {a['first_sentence_p50_ms'] / 1000:.2f}, p95 "
         f"{a['first_sentence_p95_ms'] / 1000:.2f}", "—", TARGETS["first_verified"], loads])
    add([f"LLM first token, s {label}", "—", f"p50 {a['first_token_p50_ms'] / 1000:.2f}, p95 "
         f"{a['first_token_p95_ms'] / 1000:.2f}", "—", TARGETS["first_token"], loads])
    add([f"full LLM answer, s {label}", "—", f"p50 {a['full_answer_p50_ms'] / 1000:.2f}, p95 "
         f"{a['full_answer_p95_ms'] / 1000:.2f}", "—", TARGETS["full"], loads])
    add([f"answers replaced by the extractive fallback {label}", "—", f"{a['fallbacks']} of {a['n']}", "—",
         TARGETS["fallbacks"], loads])
    l0 = load()
    ui = tmp / "ui.json"
    timed([PY, str(ROOT / "scripts" / "bench_ui.py"), "--n", str(n), "--store", str(store), "--report", str(ui)],
          env)
    u = json.loads(ui.read_text())
    add([f"Enter → first verified sentence on screen, s (real Chromium, {u['n']} questions, warm)", "—",
         f"p50 {u['first_verified_p50_s']:.2f} (answer done p50 {u['answer_done_p50_s']:.2f})", "—",
         TARGETS["first_verified"], fmt_range([l0, load()])])
    firsts = []
    for _ in range(3):  # a fresh `ask` process: server start included
        r = timed([PY, "-m", "assistant.cli", "ask", "what does AdvCLIP attack?", "--json", "--store", str(store)],
                  env)
        t = json.loads(r.out)
        if t.get("first_token_ms") is not None:
            firsts.append(r.wall - (t["total_ms"] - t["first_token_ms"]) / 1000)
    if firsts:
        add([f"`ask` with the embedded LLM, command start → first token, s (cold process, median of {len(firsts)})",
             "—", f"{med(firsts):.1f}", "—", TARGETS["cold_first_token"], fmt_range([r.load])])
    notes.append("answers: `scripts/bench_answer.py` (Assistant.stream, embedded LLM) and `scripts/bench_ui.py` "
                 "(`paperchat serve` + Chromium, a fresh chat per question) on the demo corpus; the first "
                 "verified sentence is the extractive draft shown before the model's first word.")


def textbook_full(cache_dir: Path, env: dict) -> float:
    """The textbook retriever's nDCG@10 on all of SciFact test; its index is built once and cached."""
    corpus = SCIFACT / "corpus.jsonl"
    store = cache_dir / "textbook-beir" / file_sha256(corpus)[:16]
    done = store / "ingested"
    if not done.is_file():
        import shutil

        shutil.rmtree(store, ignore_errors=True)
        r = timed([PY, str(ROOT / "scripts" / "textbook_pipeline.py"), "ingest", str(corpus), "--store", str(store)], env)
        print(f"textbook index of all of SciFact built in {r.wall:.0f} s", flush=True)
        done.write_text(json.dumps({"seconds": r.wall}))
    ret = textbook.retriever(textbook.open_index(store))
    scores = [ndcg_at_k(textbook.ranked_ids(ret.retrieve(text)), rel, 10) for _, text, rel in queries(None)]
    return mean(scores) or 0.0


if __name__ == "__main__":
    sys.exit(main())
