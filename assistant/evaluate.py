"""`paperchat eval`: retrieval metrics and answer checks on a question file or a BEIR folder, saved as a report."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from assistant.answering.verification import ResemblanceJudge
from assistant.errors import PaperchatError
from assistant.evaluation.beir import eval_beir
from assistant.evaluation.claims import format_claims, judge_items, perturbation_items, scifact_items
from assistant.evaluation.questions import eval_questions, load_questions
from assistant.evaluation.report import _print_beir, _print_questions, compare_rows, format_table
from assistant.service import Assistant, make_judge
from assistant.settings import Settings


def _git_commit() -> str:
    head = Path(__file__).resolve().parents[1] / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (head.parent / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return ""


def run_eval(args, settings: Settings) -> int:
    """The `paperchat eval` command: run the requested evaluations, print tables, write (and compare) a report."""
    questions_path = getattr(args, "questions", None)
    beir = getattr(args, "beir", None)
    verify = getattr(args, "verify", None)
    if not questions_path and not beir and not verify:
        raise PaperchatError("nothing to evaluate — give --questions FILE.jsonl, --beir DIR or --verify PATH")
    limit = getattr(args, "limit", None)
    old = None
    if getattr(args, "compare", None):
        try:
            old = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PaperchatError(f"{args.compare}: cannot read the report to compare with: {exc}") from exc
    now = dt.datetime.now()
    report: dict = {"created": now.isoformat(timespec="seconds"), "commit": _git_commit(), "metrics": {},
                    "config": {"store": str(settings.chroma_host or settings.store), "extractive": settings.extractive,
                               "limit": limit}}
    details: dict = {}
    if questions_path:
        questions = load_questions(Path(questions_path))[:limit] if limit else load_questions(Path(questions_path))
        assistant = Assistant(settings)
        try:
            metrics, per_question = eval_questions(assistant, questions, answers=bool(getattr(args, "answers", False)))
        finally:
            assistant.close()
        report["config"]["questions"] = str(questions_path)
        report["metrics"]["questions"] = metrics
        details["questions"] = per_question
        _print_questions(metrics)
    if beir:
        split = getattr(args, "split", None) or "test"
        metrics, per_query = eval_beir(Path(beir), split, settings, limit)
        report["config"].update(beir=str(beir), split=split)
        report["metrics"]["beir"] = metrics
        details["beir"] = per_query
        if questions_path:
            print()
        _print_beir(metrics, Path(beir), split)
    if verify:
        report["metrics"]["verify"] = _eval_verify(Path(verify), getattr(args, "split", None) or "dev", settings)
    report["details"] = details
    path = Path(getattr(args, "report", None) or Path("reports") / f"eval-{now:%Y%m%d-%H%M%S}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"report written to {path}", file=sys.stderr)
    if old is not None:
        print(f"\nCompared with {args.compare}:")
        print(format_table(["metric", "old", "new", "new - old"], compare_rows(old, report)))
    return 0


def _eval_verify(path: Path, split: str, settings: Settings) -> dict:
    """Claims judged by the product's verifier beside the resemblance baseline, printed per gold label."""
    from assistant.embed import MiniLMEmbedding

    embedder = MiniLMEmbedding(threads=settings.llm_threads, cache_dir=settings.cache_dir)
    judges = {"verifier": make_judge(settings, embedder), "resemblance": ResemblanceJudge(embedder.embed)}
    if path.is_dir():
        items, title = scifact_items(path, split), f"SciFact {split}: claim vs the abstract it cites"
    else:
        assistant = Assistant(settings, embedder=embedder)
        abstracts = {p.id: p.abstract for p in assistant.library.papers.values()}
        items, title = perturbation_items(path, abstracts), f"Perturbations {path.name} (kind:expected)"
    metrics = judge_items(items, judges)
    print(format_claims(metrics, title))
    return metrics
