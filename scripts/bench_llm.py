"""Benchmark (prints numbers, asserts nothing): the embedded LLM's levers, each on its own, against the baseline.

Usage: .venv/bin/python scripts/bench_llm.py [--n 8] [--levers baseline,prefix,...] [--prompts FILE]
       .venv/bin/python scripts/bench_llm.py --cold 3 [--store DIR]   (a fresh `ask` process to its first token)

The prompts are the ones the answer path sends (captured through the Assistant over the demo store, with dev
questions). Every lever runs its own server; all servers stay up and each prompt goes to every lever in turn, so
the load of the machine (printed beside each figure) falls on all of them alike. Levers whose idle server burns CPU
(OMP_WAIT_POLICY=ACTIVE) run in a block of their own, interleaved with a second baseline server.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from assistant import offline

offline.apply()  # before the third-party imports read the environment
from assistant.errors import LLMError  # noqa: E402
from assistant.llm import LLM, NATIVE, PYTHON, ServerOptions  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
SENTENCES = re.compile(r"- Write (.+?) sentences in plain prose")


@dataclass(frozen=True)
class Prompt:
    """One LLM request the answer path makes."""

    qid: str
    kind: str
    system: str
    user: str
    max_tokens: int


@dataclass(frozen=True)
class Lever:
    """A server configuration and how the prompts are assembled for it."""

    name: str
    options: ServerOptions
    stable_prefix: bool = False  # move the per-kind sentence count out of the system prompt
    isolated: bool = False  # its idle server burns CPU: measure it in a block of its own


def _py(**kw) -> ServerOptions:
    return ServerOptions(runtime=PYTHON, **kw)


def _native(**kw) -> ServerOptions:
    kw.setdefault("n_ubatch", 512)  # as measured against the baseline
    return ServerOptions(runtime=NATIVE, **kw)


LEVERS = {lever.name: lever for lever in [
    Lever("baseline", _py(n_ubatch=512)),  # what llm.py did before this benchmark: llama-cpp-python, 512/512
    Lever("default", _py()),  # what llm.py does now
    Lever("prefix", _py(n_ubatch=512), stable_prefix=True),
    Lever("lookup10", _py(n_ubatch=512, lookup=10)),
    Lever("lookup4", _py(n_ubatch=512, lookup=4)),
    Lever("ubatch128", _py(n_batch=512, n_ubatch=128)),
    Lever("ubatch256", _py(n_batch=512, n_ubatch=256)),
    Lever("batch1024", _py(n_batch=1024, n_ubatch=1024)),
    Lever("threads1", _py(n_ubatch=512, threads=1)),
    Lever("omp-active", _py(n_ubatch=512, omp_wait="ACTIVE"), isolated=True),
    Lever("native", _native()),
    Lever("native+prefix", _native(), stable_prefix=True),
    Lever("native+lookup8", _native(lookup=8)),
    Lever("native+lookup16", _native(lookup=16)),
    Lever("native+ubatch256", _native(n_batch=512, n_ubatch=256)),
    Lever("native+ubatch128", _native(n_batch=512, n_ubatch=128)),
    Lever("native+batch1024", _native(n_batch=1024, n_ubatch=1024)),
    Lever("native+threads1", _native(threads=1, threads_batch=2)),
    Lever("native+omp-active", _native(omp_wait="ACTIVE"), isolated=True),
    Lever("native+lookup4", _native(lookup=4)),
    Lever("native+all", _native(lookup=8), stable_prefix=True),
]}


class _Recorder:
    """A stand-in LLM that records the request the answer path makes, then fails (the answer goes extractive)."""

    def __init__(self):
        self.calls: list[tuple[str, str, int]] = []

    def stream(self, system: str, user: str, max_tokens: int | None = None):
        self.calls.append((system, user, max_tokens or 0))
        raise LLMError("recorded")
        yield ""  # pragma: no cover  (makes this a generator)


def _questions(n: int) -> list[dict]:
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    questions = [q for q in questions if q["kind"] != "unanswerable"]
    return [questions[i * len(questions) // n] for i in range(min(n, len(questions)))]  # every kind


def demo_store(store: Path) -> Path:
    """A store holding the demo corpus (ingested once into `store`)."""
    from assistant.corpus import ingest_paths

    if not store.exists():
        ingest_paths([ROOT / "data" / "demo" / "daily-papers.txt"], load_settings(store=store))
    return store


def capture_prompts(n: int, store: Path) -> list[Prompt]:
    """The system+user prompts the current answer path sends for n answerable dev questions."""
    from assistant.service import Assistant

    recorder = _Recorder()
    bot = Assistant(load_settings(store=demo_store(store), extractive=False), llm=recorder)
    questions = _questions(n)
    prompts = []
    for q in questions:
        before = len(recorder.calls)
        answer = bot.ask(q["question"])
        if len(recorder.calls) > before:
            system, user, max_tokens = recorder.calls[-1]
            prompts.append(Prompt(q["id"], answer.kind, system, user, max_tokens))
    return prompts


def stable(p: Prompt) -> Prompt:
    """The same request with a system prompt identical for every question (the sentence count moves to user)."""
    m = SENTENCES.search(p.system)
    if not m:
        return p
    system = p.system.replace(m.group(0), "- Write as many sentences as the task asks for, in plain prose")
    user = p.user.replace(" Write your answer now", f" Write {m.group(1)} sentences. Write your answer now")
    return replace(p, system=system, user=user)


# A cold `ask`: a fresh process imports, opens the store, retrieves and streams; the parent times the first token
# from the moment it spawned the process (the server's start included).
COLD = r"""
import sys
from assistant.llm import LLM, ServerOptions
from assistant.settings import load_settings
store, runtime, prewarm, question = sys.argv[1:5]
settings = load_settings(store=store, extractive=False)
llm = LLM(settings, ServerOptions(runtime=runtime))
if prewarm == "prewarm":
    llm.prewarm()
from assistant.answer import Assistant
for event in Assistant(settings, llm=llm).stream(question):
    if event.kind == "delta":
        print("first token", flush=True)
        break
"""


def cold_ask(store: Path, runtimes: list[str], rounds: int) -> None:
    """Seconds from spawning a fresh `ask` process to its first LLM token, with and without prewarm()."""
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    question = _questions(8)[0]["question"]
    times: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for runtime in runtimes:
            for mode in ("no-prewarm", "prewarm"):
                t0 = time.perf_counter()
                proc = subprocess.Popen([sys.executable, "-c", COLD, str(store), runtime, mode, question],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
                line = proc.stdout.readline()
                elapsed = time.perf_counter() - t0
                proc.wait()
                if "first token" in line:
                    times.setdefault(f"{runtime} {mode}", []).append((elapsed, os.getloadavg()[0]))
                    print(f"  cold ask {runtime:6} {mode:10} first token {elapsed:5.1f} s  "
                          f"load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"\ncold `ask` (fresh process, server start included) on {cpu_model()}")
    ref = statistics.median(t for t, _ in times.get(f"{runtimes[0]} no-prewarm", [(1.0, 0)]))
    for name, rows in times.items():
        med = statistics.median(t for t, _ in rows)
        print(f"{name:22} first token p50 {med:5.1f} s  ×{med / ref:4.2f}  (n={len(rows)}, "
              f"load {statistics.mean(load for _, load in rows):.2f})")


def _tokens(text: str) -> int:
    import tiktoken

    return len(tiktoken.get_encoding("cl100k_base").encode(text, disallowed_special=()))


def run(llm: LLM, p: Prompt) -> dict:
    """One streamed request: first-token and total seconds, output tokens, the text."""
    t0 = time.perf_counter()
    first = None
    text = ""
    for delta in llm.stream(p.system, p.user, max_tokens=p.max_tokens):
        if first is None:
            first = time.perf_counter() - t0
        text += delta
    total = time.perf_counter() - t0
    return {"first": first if first is not None else total, "total": total, "tokens": _tokens(text), "text": text,
            "load": os.getloadavg()[0]}


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def cpu_model() -> str:
    """The CPU's name and the vector extensions that matter to llama.cpp."""
    info = Path("/proc/cpuinfo").read_text()
    name = re.search(r"model name\s*:\s*(.+)", info)
    flags = set((re.search(r"flags\s*:\s*(.+)", info) or re.search("(.*)", "")).group(1).split())
    ext = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
    return f"{name.group(1).strip() if name else 'unknown CPU'} ({os.cpu_count()} cores; {', '.join(ext)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8, help="prompts (answerable dev questions)")
    parser.add_argument("--levers", default="baseline,default,prefix,ubatch128,native,native+lookup8")
    parser.add_argument("--reference", default="baseline", help="the lever the others are compared with")
    parser.add_argument("--prompts", type=Path, help="read prompts captured earlier from this JSON file")
    parser.add_argument("--save-prompts", type=Path, help="write the captured prompts to this JSON file")
    parser.add_argument("--json", type=Path, help="write every measurement to this JSON file")
    parser.add_argument("--store", type=Path, help="a store of the demo corpus (ingested there if missing)")
    parser.add_argument("--cold", type=int, default=0, help="instead: time N rounds of a cold `ask` per runtime")
    args = parser.parse_args()
    store = args.store or Path(tempfile.mkdtemp()) / "chroma"
    if args.cold:
        cold_ask(demo_store(store), [PYTHON, NATIVE], args.cold)
        return
    if args.prompts:
        prompts = [Prompt(**d) for d in json.loads(args.prompts.read_text())][: args.n]
    else:
        prompts = capture_prompts(args.n, store)
    if args.save_prompts:
        args.save_prompts.write_text(json.dumps([p.__dict__ for p in prompts], indent=1))
    names = [s.strip() for s in args.levers.split(",") if s.strip()]
    names = [args.reference] + [n for n in names if n != args.reference]
    levers = [LEVERS[n] for n in names]
    settings = load_settings(llm_max_tokens=512)
    print(f"CPU: {cpu_model()}; {len(prompts)} prompts ({', '.join(p.kind for p in prompts)}); "
          f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, list[dict]] = {lv.name: [] for lv in levers}
    starts: dict[str, float] = {}

    def open_llm(lv: Lever) -> LLM:
        llm = LLM(settings, lv.options)
        t = time.perf_counter()
        llm.local.ensure()
        starts[lv.name] = time.perf_counter() - t
        warm = stable(prompts[-1]) if lv.stable_prefix else prompts[-1]
        llm.complete(warm.system, "Say hello.", max_tokens=4)  # a served process has answered before
        return llm

    def measure(block: list[Lever]) -> None:
        llms = {lv.name: open_llm(lv) for lv in block}
        try:
            for p in prompts:
                for lv in block:
                    r = run(llms[lv.name], stable(p) if lv.stable_prefix else p)
                    results.setdefault(lv.name, []).append(r)
                    print(f"  {p.qid} {p.kind:11} {lv.name:18} first {r['first']:5.2f} s  total {r['total']:5.2f} s"
                          f"  {r['tokens']:3d} tok  load {r['load']:.2f}", flush=True)
        finally:
            for llm in llms.values():
                llm.close()

    shared = [lv for lv in levers if not lv.isolated]
    measure(shared)
    for lv in levers:
        if lv.isolated:
            twin = replace(LEVERS[args.reference], name=f"{args.reference}|{lv.name}")
            measure([twin, lv])
    base = results[args.reference]
    print(f"\nLLM levers on {cpu_model()}, {len(prompts)} prompts, medians of the same prompts; ratios < 1 are faster")
    print(f"{'lever':18} {'first p50':>9} {'p95':>6} {'total p50':>9} {'p95':>6} {'tok/s':>6} "
          f"{'first×':>6} {'total×':>6} {'same text':>9} {'start s':>7} {'load':>5}")
    for name, rows in results.items():
        if not rows:
            continue
        ref = results.get(f"{args.reference}|{name}", base)
        first = [r["first"] for r in rows]
        total = [r["total"] for r in rows]
        rate = sum(r["tokens"] for r in rows) / max(1e-9, sum(r["total"] - r["first"] for r in rows))
        same = sum(r["text"] == b["text"] for r, b in zip(rows, ref, strict=False))
        print(f"{name:18} {statistics.median(first):9.2f} {_pct(first, 0.95):6.2f} {statistics.median(total):9.2f} "
              f"{_pct(total, 0.95):6.2f} {rate:6.1f} "
              f"{statistics.median(first) / statistics.median([r['first'] for r in ref]):6.2f} "
              f"{statistics.median(total) / statistics.median([r['total'] for r in ref]):6.2f} "
              f"{same:4d}/{len(rows):<4d} {starts.get(name, 0):7.1f} {statistics.mean(r['load'] for r in rows):5.2f}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "starts": starts, "results": results}, indent=1))


if __name__ == "__main__":
    main()
