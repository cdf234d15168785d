"""Benchmark (prints numbers, asserts nothing): Enter to the first verified sentence on screen, in a real Chromium.

Usage: .venv/bin/python scripts/bench_ui.py [--store DIR] [--n 10] [--extractive] [--report FILE]

Starts `paperchat serve` on the store (the demo corpus ingested into a temporary store when --store is not given)
with the embedded LLM on, asks one untimed question to warm it, then --n answerable dev questions, each on a fresh
page (a fresh chat: no history), timing from the Enter key to the first verified-sentence mark of the answer and
to the end of the answer (the question box is editable again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
DEMO = ROOT / "data" / "demo" / "daily-papers.txt"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VERIFIED = '#chat [data-testid="bot"] .pc-v-supported'


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _questions(n: int) -> list[dict]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = [q for q in rows if q["kind"] != "unanswerable"]
    return rows[:: max(1, len(rows) // (n + 1))][: n + 1]  # the first one warms the app up


def _serve(store: Path, port: int, extractive: bool) -> subprocess.Popen:
    env = dict(os.environ, PAPERCHAT_EXTRACTIVE=str(extractive).lower(), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "assistant.cli", "serve", "--store", str(store), "--port", str(port)]
    if not store.exists():
        cmd += ["--demo", str(DEMO)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_up(proc: subprocess.Popen, port: int, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"paperchat serve exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"paperchat serve did not listen on port {port} within {limit:.0f} s")


def ask(context, url: str, question: str, timeout_ms: int) -> tuple[float, float]:
    """(Enter to first verified sentence, Enter to the end of the answer), seconds, on a fresh page."""
    page = context.new_page()
    try:
        page.goto(url)
        box = page.locator("#question textarea")
        box.wait_for()
        box.fill(question)
        start = time.perf_counter()
        box.press("Enter")
        page.locator(VERIFIED).first.wait_for(state="visible", timeout=timeout_ms)
        first = time.perf_counter() - start
        page.wait_for_function("() => !document.querySelector('#question textarea').disabled", timeout=timeout_ms)
        return first, time.perf_counter() - start
    finally:
        page.close()


def measure(store: Path, n: int, extractive: bool) -> dict:
    """Serve, ask, and return the figures (seconds)."""
    from playwright.sync_api import sync_playwright

    if shutil.which("chromium") is None:  # Playwright would look for its own download instead and fail obscurely
        sys.exit("bench_ui: Debian's chromium is not installed — run scripts/ensure_chromium.sh (make bench does)")
    port = _port()
    proc = _serve(store, port, extractive)
    try:
        _wait_up(proc, port)
        url = f"http://127.0.0.1:{port}/"
        firsts, totals = [], []
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
            context = chromium.new_context(viewport={"width": 1400, "height": 950})
            for i, q in enumerate(_questions(n)):
                first, total = ask(context, url, q["question"], timeout_ms=180_000)
                label = "warm-up, not counted" if i == 0 else q["kind"]
                print(f"{q['id']:6} {label:22} first verified sentence {first:6.2f} s   answer done {total:6.2f} s",
                      flush=True)
                if i:
                    firsts.append(first)
                    totals.append(total)
            context.close()
            chromium.close()
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"n": len(firsts), "first_verified_s": firsts, "answer_done_s": totals,
            "first_verified_p50_s": statistics.median(firsts), "answer_done_p50_s": statistics.median(totals)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--extractive", action="store_true")
    parser.add_argument("--report", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    store = args.store or Path(tempfile.mkdtemp(prefix="paperchat-bench-ui-")) / "chroma"
    figures = measure(store, args.n, args.extractive)
    print(f"Enter -> first verified sentence p50 {figures['first_verified_p50_s']:.2f} s, "
          f"answer done p50 {figures['answer_done_p50_s']:.2f} s (n={figures['n']}, real Chromium)")
    if args.report:
        args.report.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
