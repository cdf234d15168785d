"""Benchmark (prints numbers, asserts nothing): embedding-only abstracts/s for model x thread layout, interleaved.

Usage: python scripts/bench_embed.py [--abstracts 200] [--rounds 2]

The same texts for every variant: paperchat's chunks of the first N SciFact abstracts. Variants:
  int8 / fp32     the int8-dynamic model paperchat derives, or the packaged model (float32 compute)
  int8-v1         with --v1: the int8 model as paperchat derived it before version 2 (attention NaN guards kept,
                  onnxruntime's SkipLayerNormalization fusion on)
  1x2             one text per run, one single-threaded session per core (paperchat's bulk layout)
  10x1            batches of 10 (length-sorted), one 2-thread session (the textbook layout, sorted)
  b1 t1 / b10 t1  with --single-thread: one text or 10 per run on a single thread
Rounds run every variant once in turn, so load from other work falls on all of them alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import offline  # noqa: E402

offline.apply()

import onnxruntime as ort  # noqa: E402

from assistant.embed import (  # noqa: E402
    DISABLED_FUSIONS,
    MODEL_FILE,
    MiniLMEmbedding,
    derive_int8,
    locate_package_file,
    new_session,
    quantized_model,
)
from assistant.settings import load_settings  # noqa: E402
from ingest.chunk import chunk_paper  # noqa: E402
from ingest.parse import iter_records  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "eval" / "external" / "scifact" / "corpus.jsonl"


def _variant(base: MiniLMEmbedding, model: Path, batch: int, threads: int, disabled: list[str]) -> MiniLMEmbedding:
    """A MiniLMEmbedding (same tokenizer and pooling) running `model` in the given layout."""
    emb = object.__new__(MiniLMEmbedding)
    emb.__dict__.update(base.__dict__)
    emb._single, emb._bulk = new_session(model, threads, disabled), new_session(model, 1, disabled)
    emb._threads = 2 if batch == 1 else 1  # batch 1: two threads each driving a 1-thread session
    emb.batch_size = batch
    return emb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--abstracts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=SCIFACT)
    parser.add_argument("--single-thread", action="store_true",
                        help="every variant on one thread (CPU ms per abstract: a figure the shared machine's load "
                             "hardly moves)")
    parser.add_argument("--v1", action="store_true", help="also the int8 model as derived before version 2")
    parser.add_argument("--no-fp32", action="store_true", help="leave out the float32 model")
    args = parser.parse_args()
    papers = [p for p in iter_records(args.corpus, "jsonl") if not isinstance(p, str)][: args.abstracts]
    texts = [c.text for p in papers for c in chunk_paper(p)]
    settings = load_settings()
    base = MiniLMEmbedding(threads=2, cache_dir=settings.cache_dir)
    models = {"int8": (quantized_model(settings.cache_dir), DISABLED_FUSIONS)}
    tmp = tempfile.TemporaryDirectory() if args.v1 else None  # version 1, derived for this run only
    if tmp is not None:
        models["int8-v1"] = (derive_int8(locate_package_file(*MODEL_FILE), Path(tmp.name), drop_nan_guards=False), [])
    if not args.no_fp32:
        models["fp32"] = (locate_package_file(*MODEL_FILE), [])
    layouts = (("b1 t1", 1, 1), ("b10 t1", 10, 1)) if args.single_thread else (("1x2", 1, 1), ("10x1", 10, 2))
    variants = {f"{m} {layout}": _variant(base, path, b, t, off) for m, (path, off) in models.items()
                for layout, b, t in layouts}
    if args.single_thread:  # one session, one thread, no pool: CPU time per abstract barely depends on load
        for emb in variants.values():
            emb._threads = 1
    for emb in variants.values():
        emb.embed(texts[:8])  # session warm-up
    rates: dict[str, list[float]] = {name: [] for name in variants}
    cpu_ms: dict[str, list[float]] = {name: [] for name in variants}
    loads: list[float] = []
    for _ in range(args.rounds):
        for name, emb in variants.items():
            loads.append(os.getloadavg()[0])
            t0, c0 = time.perf_counter(), time.process_time()
            emb.embed(texts)
            rates[name].append(len(papers) / (time.perf_counter() - t0))
            cpu_ms[name].append((time.process_time() - c0) * 1000 / len(papers))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    print(f"{len(papers)} SciFact abstracts = {len(texts)} chunks; {os.cpu_count()} CPUs ({cpu}); onnxruntime "
          f"{ort.__version__}; load average {min(loads):.1f}-{max(loads):.1f}")
    print("| variant | abstracts/s (best of rounds) | each round | CPU ms per abstract (min) |")
    print("| --- | --- | --- | --- |")
    for name, r in rates.items():
        print(f"| {name} | {max(r):.1f} | {', '.join(f'{x:.1f}' for x in r)} | {min(cpu_ms[name]):.0f} |")


if __name__ == "__main__":
    main()
