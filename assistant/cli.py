"""The `paperchat` command: ingest, ask, stats, remove, serve, setup."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from assistant import offline
from assistant.errors import PaperchatError, ParseError
from assistant.kinds import KINDS
from assistant.output import answer_json, claim_json, format_answer, format_claim, source_json
from assistant.settings import Settings, load_settings

log = logging.getLogger("paperchat")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", type=Path, help="Chroma directory (default ./data/chroma; env PAPERCHAT_STORE)")
    p.add_argument("--chroma-host", help="use a Chroma server at this host instead of a directory")
    p.add_argument("--chroma-port", type=int, help="Chroma server port (default 8000)")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="", help="only papers published on/after YYYY-MM-DD")
    p.add_argument("--until", default="", help="only papers published on/before YYYY-MM-DD")
    p.add_argument("--author", default="", help="only papers with this author (substring)")
    p.add_argument("--tag", default="", help="only papers with this category/tag")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (the CLI contract other checks rely on)."""
    parser = argparse.ArgumentParser(prog="paperchat", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    _question_parsers(sub)
    _store_parsers(sub)
    return parser


def _question_parsers(sub) -> None:
    """ingest, ask and verify."""
    p = sub.add_parser("ingest", help="add abstracts from files to the store")
    p.add_argument("paths", nargs="+", type=Path)
    _common(p)
    p.add_argument("--format", choices=["daily", "jsonl", "json", "csv", "tsv", "bibtex", "arxiv"])
    p.add_argument("--skip-invalid", action="store_true", help="ingest the good records and report the rest")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("ask", help="ask a question")
    p.add_argument("question", nargs="?")
    _common(p)
    _filters(p)
    p.add_argument("--batch", type=Path, help="JSONL file of {id, question, conversation?}; one JSON answer per line "
                   "(lines with the same conversation are answered in order, each with the earlier turns as history)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--k", type=int, help="number of sources (default 5)")
    p.add_argument("--retrieve-only", action="store_true", help="skip the LLM; return the ranked sources")
    p.add_argument("--extractive", action="store_true", help="answer from abstract sentences, no LLM")
    p.add_argument("--kind", choices=list(KINDS), help="override routing")

    p = sub.add_parser("verify", help="check a claim against the papers: which support it, which contradict it")
    p.add_argument("claim", nargs="?")
    _common(p)
    p.add_argument("--paper", action="append", default=[], metavar="ID", help="judge against this paper (repeatable)")
    p.add_argument("--batch", type=Path, help="JSONL file of {id, claim, paper_ids?}; one JSON result per line")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--k", type=int, help="papers retrieved and judged when no --paper is given (default 5)")


def _store_parsers(sub) -> None:
    """stats, remove, serve, setup and eval."""
    p = sub.add_parser("stats", help="papers and chunks in the store")
    _common(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("remove", help="delete papers by id")
    p.add_argument("ids", nargs="+")
    _common(p)

    p = sub.add_parser("serve", help="serve the chat UI")
    _common(p)
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--auth", help="user:password required to use the UI")
    p.add_argument("--demo", type=Path, help="ingest this file first if the store is empty")
    p.add_argument("--mcp", action="store_true", default=None,
                   help="also serve MCP tools (search_papers, ask, check_claim) at /gradio_api/mcp/sse")

    sub.add_parser("setup", help="prepare the local models (derive the int8 embedder, reassemble and verify the GGUF)")

    p = sub.add_parser("eval", help="measure retrieval (and answers) on a question file or a BEIR folder")
    _common(p)
    p.add_argument("--questions", type=Path, help="JSONL {id, question, kind, gold_titles}")
    p.add_argument("--answers", action="store_true", help="also run the answers and score citations/refusals")
    p.add_argument("--extractive", action="store_true", help="with --answers: LLM-free answers")
    p.add_argument("--beir", type=Path, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--split", default="test", choices=["test", "train", "dev"])
    p.add_argument("--report", type=Path, help="write the JSON report here (default reports/eval-<time>.json)")
    p.add_argument("--compare", type=Path, help="an earlier JSON report to show differences against")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--verify", type=Path, help="judge claims: a BEIR SciFact folder (with original/claims_<split>.jsonl) "
                   "or a perturbation JSONL {claim, paper_id, expected}")


def _settings(args: argparse.Namespace, **extra) -> Settings:
    return load_settings(store=getattr(args, "store", None), chroma_host=getattr(args, "chroma_host", None),
                         chroma_port=getattr(args, "chroma_port", None), **extra)


def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.corpus import ingest_paths

    settings = _settings(args)
    report = ingest_paths(args.paths, settings, fmt=args.format, skip_invalid=args.skip_invalid, quiet=args.quiet)
    for problem in report.problems[:20]:
        print(f"skipped: {problem}", file=sys.stderr)
    if len(report.problems) > 20:
        print(f"skipped: ... and {len(report.problems) - 20} more", file=sys.stderr)
    print(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.duplicates} duplicates merged, {len(report.problems)} skipped; {report.chunks_written} chunks "
          f"written to {settings.chroma_host or settings.store}", file=sys.stderr)
    return 0


def _read_batch(path: Path) -> list[tuple[str, str, str | None]]:
    """(id, question, conversation) per line; every bad line reported as `file:line: what is wrong`."""
    from assistant.questions import read_question_lines

    rows, problems = read_question_lines(path)
    for n, obj in rows:
        conv = obj.get("conversation")
        if conv is not None and not isinstance(conv, str | int):
            problems.append(f"{path}:{n}: \"conversation\" must be a string or a number")
    if problems:
        raise ParseError(problems)
    return [(obj.get("id", str(n)), obj["question"],
             None if obj.get("conversation") is None else str(obj["conversation"])) for n, obj in rows]


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.service import Assistant

    if not args.question and not args.batch:
        raise PaperchatError("give a QUESTION or --batch FILE.jsonl")
    items = _read_batch(args.batch) if args.batch else [(None, args.question, None)]
    settings = _settings(args, extractive=True if args.extractive else None)
    filters = _parse_filters(args)
    assistant = Assistant(settings)
    if not args.retrieve_only:
        assistant.prewarm()  # the model loads while the first question is understood and retrieved
    histories: dict[str, list] = {}
    try:
        for qid, question, conv in items:
            history = histories.setdefault(conv, []) if conv is not None else []
            if args.retrieve_only:
                print(json.dumps(_retrieve_json(assistant, qid, question, args.k, filters, args.kind, history),
                                 ensure_ascii=False), flush=True)
                continue
            answer = _ask_one(assistant, question, history, filters, args, stream=not (args.json or args.batch))
            if conv is not None:
                history.append((question, answer))
            if args.json or args.batch:
                print(json.dumps(answer_json(answer, qid), ensure_ascii=False), flush=True)
            else:
                print(format_answer(answer))
    finally:
        assistant.close()
    return 0


def _parse_filters(args: argparse.Namespace):
    from assistant.records import Filters, parse_date

    for name in ("since", "until"):
        value = getattr(args, name)
        if value and parse_date(value) is None:
            raise PaperchatError(f"--{name} {value!r} is not a date — use YYYY, YYYY-MM or YYYY-MM-DD")
    return Filters.from_text(args.since, args.until, args.author, args.tag)


def _retrieve_json(assistant, qid, question: str, k, filters, kind, history) -> dict:
    import time

    t0 = time.perf_counter()
    sources = assistant.retrieve(question, k=k, filters=filters, kind=kind, history=history)
    return {"id": qid, "question": question, "answer": None, "refused": False, "citations": [],
            "sources": [source_json(s) for s in sources], "retrieve_ms": round((time.perf_counter() - t0) * 1000, 1)}


def _ask_one(assistant, question: str, history: list, filters, args: argparse.Namespace, stream: bool):
    """One answer; on a terminal the sources and the LLM's text are shown as they come."""
    answer = None
    for event in assistant.stream(question, history=history, filters=filters, kind=args.kind, k=args.k):
        if event.kind == "answer":
            answer = event.answer
        elif stream and event.kind == "sources":
            print("Sources: " + "; ".join(s.title for s in event.sources[:5]), file=sys.stderr)
        elif stream and event.kind == "delta":
            print(event.text, end="", file=sys.stderr, flush=True)
    if stream:
        print(file=sys.stderr)
    return answer


def _read_claims(path: Path) -> list[tuple[str, str, list[str]]]:
    """(id, claim, paper ids) per line; every bad line reported as `file:line: what is wrong`."""
    from assistant.questions import read_jsonl

    rows, problems = read_jsonl(path)
    out = []
    for n, obj in rows:
        claim, ids = obj.get("claim"), obj.get("paper_ids", [])
        if not isinstance(claim, str) or not claim.strip():
            problems.append(f"{path}:{n}: expected an object with a non-empty \"claim\"")
        elif not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append(f"{path}:{n}: \"paper_ids\" must be a list of paper ids")
        else:
            out.append((str(obj.get("id", n)), claim, ids))
    if problems:
        raise ParseError(problems)
    return out


def cmd_verify(args: argparse.Namespace) -> int:
    from assistant.service import Assistant

    if not args.claim and not args.batch:
        raise PaperchatError("give a CLAIM or --batch FILE.jsonl")
    items = _read_claims(args.batch) if args.batch else [(None, args.claim, args.paper)]
    assistant = Assistant(_settings(args))
    for cid, claim, ids in items:
        check = assistant.check_claim(claim, paper_ids=ids or None, k=args.k)
        if args.json or args.batch:
            print(json.dumps(claim_json(check, cid), ensure_ascii=False), flush=True)
            continue
        print(format_claim(check))
    return 0


def _open(args: argparse.Namespace):
    from assistant.embed import DIMENSION, MODEL_NAME  # constants only: no model is loaded
    from assistant.store import open_store

    return open_store(_settings(args), MODEL_NAME, DIMENSION)


def cmd_stats(args: argparse.Namespace) -> int:
    from assistant.embed import MODEL_NAME
    from assistant.store import PAPERS_SUFFIX
    from assistant.store.counts import sqlite_stats

    stats = sqlite_stats(_settings(args), MODEL_NAME, PAPERS_SUFFIX) or _open(args).stats()
    print(json.dumps(stats) if args.json else f"{stats['papers']} papers, {stats['chunks']} chunks")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from assistant.corpus import remove_papers  # keeps the lexical index in step with the store

    removed = remove_papers(_settings(args), args.ids)
    print(f"removed {removed} chunks", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    settings = _settings(args, host=args.host, port=args.port, auth=args.auth, mcp=args.mcp)
    serve(settings, demo=args.demo)
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    from assistant.embed import MiniLMEmbedding
    from assistant.models import ensure_gguf

    settings = load_settings()
    MiniLMEmbedding(cache_dir=settings.cache_dir)  # hash-checks the packaged files, derives the int8 model once
    print(f"embedder ok; LLM model ready at {ensure_gguf(settings)}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluate import run_eval

    return run_eval(args, _settings(args, extractive=True if args.extractive else None))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command, print errors as messages, exit non-zero on failure."""
    offline.apply()  # before any third-party import reads the environment
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("bm25s", "httpx", "chromadb", "llama_index"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return {"ingest": cmd_ingest, "ask": cmd_ask, "stats": cmd_stats, "remove": cmd_remove,
                "serve": cmd_serve, "setup": cmd_setup, "eval": cmd_eval,
                "verify": cmd_verify}[args.command](args)
    except PaperchatError as exc:
        log.debug("error", exc_info=True)
        print(f"error: {exc}" if not isinstance(exc, ParseError) else str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
