"""Benchmark (prints numbers, asserts nothing): time to sources, first token and full answer with the embedded LLM.

Usage: .venv/bin/python scripts/bench_answer.py [--store DIR] [--n 10] [--extractive] [--report FILE]
Ingests the demo corpus into a temporary store when --store is not given. One untimed question first (warm-up).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from assistant import offline

offline.apply()  # before the third-party imports read the environment
from assistant.corpus import ingest_paths  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path)
    parser.add_argument("--n", type=int, default=10, help="questions to time (from the dev set, answerable ones)")
    parser.add_argument("--extractive", action="store_true")
    parser.add_argument("--report", type=Path, help="write the figures (ms) as JSON here")
    args = parser.parse_args()
    store = args.store or Path(tempfile.mkdtemp()) / "chroma"
    settings = load_settings(store=store, extractive=args.extractive)
    if not store.exists():
        ingest_paths([ROOT / "data" / "demo" / "daily-papers.txt"], settings)
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    answerable = [q for q in questions if q["kind"] != "unanswerable"]
    questions = answerable[:: max(1, 35 // args.n)][: args.n]
    a = Assistant(settings)
    t = time.perf_counter()
    if not args.extractive:
        a.llm().local.ensure()
    start_s = time.perf_counter() - t
    # "Warm" as in bench_ui.py: one question not timed first (it loads the embedder and verifier sessions and
    # fills the server's cache of the system prompt), one that is not among the timed ones.
    warm_up = next(q for q in reversed(answerable) if q not in questions)
    for _event in a.stream(warm_up["question"]):
        pass
    print(f"{warm_up['id']:6} warm-up, not counted", flush=True)
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        sources_ms = first_ms = draft_ms = None
        for event in a.stream(q["question"]):
            now = (time.perf_counter() - t0) * 1000
            if event.kind == "sources":
                sources_ms = now
            elif event.kind == "draft":
                draft_ms = now
            elif event.kind == "delta" and first_ms is None:
                first_ms = now
        total_ms = (time.perf_counter() - t0) * 1000
        rows.append((q["kind"], sources_ms, first_ms, total_ms, event.answer.extractive, draft_ms))
        print(f"{q['id']:6} {q['kind']:12} sources {sources_ms:7.0f} ms  first token "
              f"{(first_ms or 0):7.0f} ms  answer {total_ms:7.0f} ms{'  (extractive)' if event.answer.extractive else ''}",
              flush=True)
    report = {"n": len(rows), "fallbacks": sum(1 for r in rows if r[4]) if not args.extractive else None,
              "kinds": [r[0] for r in rows]}
    for name, i in (("sources", 1), ("first sentence", 5), ("first token", 2), ("full answer", 3)):
        vals = [r[i] for r in rows if r[i] is not None]
        if vals:
            print(f"{name:14} p50 {statistics.median(vals):7.0f} ms  p95 {_pct(vals, 0.95):7.0f} ms  (n={len(vals)})")
            key = name.replace(" ", "_")
            report.update({f"{key}_ms": vals, f"{key}_p50_ms": statistics.median(vals),
                           f"{key}_p95_ms": _pct(vals, 0.95)})
    report["server_start_s"] = start_s
    print(f"LLM server start {start_s:.1f} s")
    print(f"peak RSS: app {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", end="")
    server = a.llm().local if not args.extractive else None
    if server is not None and server.proc is not None:
        print(f", LLM server {_peak_rss_mb(server.proc.pid):.0f} MB", end="")
    print()
    a.close()
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")

if __name__ == "__main__":
    main()
