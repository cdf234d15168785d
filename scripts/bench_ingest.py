"""Benchmark (prints numbers, asserts nothing): ingest abstracts/s, unchanged re-ingest papers/s, peak RSS.

Usage: .venv/bin/python scripts/bench_ingest.py [--limit N] [--corpus ../shared/eval/external/scifact/corpus.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import tempfile
import time
from pathlib import Path

from assistant import offline

offline.apply()  # before the third-party imports read the environment
from assistant.corpus import ingest_paths  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path,
                        default=ROOT.parent / "shared" / "eval" / "external" / "scifact" / "corpus.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="only the first N abstracts (0 = all)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    src = args.corpus
    if args.limit:
        src = tmp / "subset.jsonl"
        with open(args.corpus, encoding="utf-8") as f:
            src.write_text("".join(itertools.islice(f, args.limit)), encoding="utf-8")
    settings = load_settings(store=tmp / "chroma")
    print(f"machine: {os.cpu_count()} cores; corpus {src} ; load average {os.getloadavg()[0]:.1f}")
    t = time.perf_counter()
    first = ingest_paths([src], settings)
    dt = time.perf_counter() - t
    print(f"first ingest:     {first.added} abstracts, {first.chunks_written} chunks in {dt:.1f} s = "
          f"{first.added / dt:.1f} abstracts/s ({first.chunks_written / dt:.1f} chunks/s)")
    t = time.perf_counter()
    again = ingest_paths([src], settings)
    dt = time.perf_counter() - t
    print(f"unchanged re-ingest: {again.unchanged} papers in {dt:.2f} s = {again.unchanged / dt:.0f} papers/s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
