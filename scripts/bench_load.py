"""Benchmark (prints numbers, asserts nothing): the web UI under concurrent users, through its HTTP API.

Usage: .venv/bin/python scripts/bench_load.py [--users 8] [--per-user 2] [--llm] [--store DIR]

Serves the app with `paperchat serve` (its own process) over the demo corpus, ingested into a temporary store
unless --store is given, then runs `users` gradio_client sessions at once, each asking `per-user` different dev
questions one after the other. Prints p50/p95 of the time to the sources step and to the full answer, as each
user sees it (queue wait included: answers run one at a time), for the extractive path and, with --llm, for the
embedded LLM path; then the peak RSS (VmHWM) of the app process and of the llama.cpp server it started.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant import offline

offline.apply()  # before gradio_client reads the environment

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "daily-papers.txt"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
PAPERCHAT = Path(sys.executable).parent / "paperchat"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory field (VmHWM = peak resident set), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _llama_servers(pid: int) -> list[int]:
    """Child processes of pid that run the llama.cpp server."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"llama_cpp.server" in cmdline:
                found.append(int(child))
    return found


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _questions(n: int) -> list[str]:
    """n different answerable dev questions, kinds interleaved (lookup, comparative, topic, summary)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    by_kind: dict[str, list[str]] = {}
    for row in rows:
        if row["kind"] != "unanswerable":
            by_kind.setdefault(row["kind"], []).append(row["question"])
    out: list[str] = []
    while len(out) < n and any(by_kind.values()):
        for kind in list(by_kind):
            if by_kind[kind] and len(out) < n:
                out.append(by_kind[kind].pop(0))
    return out


def _client(url: str):
    from gradio_client import Client

    return Client(url, download_files=False, verbose=False)


def _ask(client, question: str, messages: list, extractive: bool) -> tuple[float | None, float, list]:
    """(seconds to the sources step, seconds to the final answer, messages) for one question in one session."""
    t0 = time.perf_counter()
    job = client.submit(question, messages, extractive, api_name="/ask")
    to_sources = None
    for output in job:
        if to_sources is None and "Retrieved" in json.dumps(output[0][-2:] if output and output[0] else ""):
            to_sources = time.perf_counter() - t0
    final = job.outputs()[-1] if job.outputs() else job.result()
    return to_sources, time.perf_counter() - t0, final[0]


def _round(url: str, questions: list[str], users: int, per_user: int, extractive: bool) -> dict:
    """All users at once, each asking its questions in turn; returns the latencies."""
    clients = [_client(url) for _ in range(users)]
    start = threading.Barrier(users)
    times: list[tuple[float | None, float]] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        messages: list = []
        start.wait()
        for j in range(per_user):
            to_sources, total, messages = _ask(clients[i], questions[i * per_user + j], messages, extractive)
            with lock:
                times.append((to_sources, total))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    wall = time.perf_counter() - t0
    sources = [s for s, _ in times if s is not None]
    totals = [t for _, t in times]
    return {"n": len(totals), "wall_s": wall, "sources": sources, "totals": totals}


def _report(label: str, r: dict) -> None:
    print(f"{label}: {r['n']} answers in {r['wall_s']:.1f} s wall "
          f"({r['n'] / r['wall_s'] * 60:.1f} answers/min)", flush=True)
    for name, vals in (("to sources", r["sources"]), ("full answer", r["totals"])):
        if vals:
            print(f"  {name:12} p50 {statistics.median(vals):7.2f} s  p95 {_pct(vals, 0.95):7.2f} s  "
                  f"max {max(vals):7.2f} s  (n={len(vals)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--per-user", type=int, default=2)
    parser.add_argument("--llm", action="store_true", help="also time the embedded LLM path (minutes)")
    parser.add_argument("--store", type=Path, help="an existing store (default: the demo corpus in a temp dir)")
    args = parser.parse_args()
    n = args.users * args.per_user
    questions = _questions(n)
    if len(questions) < n:
        sys.exit(f"only {len(questions)} answerable dev questions for {n} asks")
    workdir = Path(tempfile.mkdtemp(prefix="paperchat-bench-"))
    store = args.store or workdir / "chroma"
    port = _free_port()
    cmd = [str(PAPERCHAT) if PAPERCHAT.exists() else "paperchat", "serve", "--store", str(store), "--port", str(port)]
    if args.store is None:
        cmd += ["--demo", str(DEMO)]
    log_path = workdir / "serve.log"
    t = time.perf_counter()
    with log_path.open("wb") as log:
        app = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    url = f"http://127.0.0.1:{port}/"
    try:
        client = None
        while client is None:
            if app.poll() is not None:
                sys.exit(f"paperchat serve exited: {log_path.read_text()[-2000:]}")
            try:
                client = _client(url)
            except Exception:  # not listening yet
                time.sleep(0.5)
        print(f"app up in {time.perf_counter() - t:.1f} s (pid {app.pid}; ingest of the demo included)", flush=True)
        # One untimed question per path: the sentence cache and, for the LLM, the server start are one-off costs.
        t = time.perf_counter()
        _ask(client, questions[0], [], True)
        print(f"first extractive answer (cold caches) {time.perf_counter() - t:.1f} s", flush=True)
        _report(f"extractive, {args.users} users x {args.per_user}",
                _round(url, questions, args.users, args.per_user, extractive=True))
        llama = []
        if args.llm:
            t = time.perf_counter()
            _ask(client, questions[0], [], False)
            print(f"first LLM answer (llama.cpp server start included) {time.perf_counter() - t:.1f} s", flush=True)
            _report(f"embedded LLM, {args.users} users x {args.per_user}",
                    _round(url, questions, args.users, args.per_user, extractive=False))
            llama = _llama_servers(app.pid)
        print(f"peak RSS: app {_status(app.pid, 'VmHWM'):.0f} MB (now {_status(app.pid, 'VmRSS'):.0f} MB)", end="")
        for pid in llama:
            print(f", llama server {_status(pid, 'VmHWM'):.0f} MB (now {_status(pid, 'VmRSS'):.0f} MB)", end="")
        print(flush=True)
    finally:
        app.terminate()
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()


if __name__ == "__main__":
    main()
