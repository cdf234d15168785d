"""Question-file evaluation: retrieval metrics per kind and, with answers, citation and refusal checks."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import PaperchatError, ParseError
from assistant.questions import read_question_lines

from .metrics import mean, mrr, ndcg_at_k, percentile, recall_at_k, title_key

log = logging.getLogger(__name__)
QUESTION_K = 10  # papers retrieved per dev question: enough for R@10 and nDCG@10
KIND_ORDER = ("lookup", "comparative", "topic", "summary", "unanswerable")
RETRIEVAL_METRICS = ("R@1", "R@5", "R@10", "MRR", "nDCG@10")


@dataclass
class Question:
    """One evaluation question; gold holds titles (or ids) of the papers that answer it, empty if none does."""

    id: str
    question: str
    kind: str
    gold: list[str]

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file of {id, question, kind, gold_titles}; problems are reported as file:line."""
    rows, problems = read_question_lines(path)
    out = []
    for n, obj in rows:
        gold = obj.get("gold_titles", obj.get("gold", []))
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            problems.append(f"{path}:{n}: \"gold_titles\" should be a list of titles")
            continue
        kind = str(obj.get("kind") or ("lookup" if gold else "unanswerable"))
        out.append(Question(str(obj.get("id", n)), obj["question"], kind, gold))
    if problems:
        raise ParseError(problems)
    if not out:
        raise PaperchatError(f"{path}: no questions found (expected JSONL lines with id, question, kind, gold_titles)")
    return out


def _ranked_keys(sources, gold_keys: set[str]) -> list[str]:
    """Each retrieved paper as its gold key when it matches one (by title or id), else as its own id."""
    out = []
    for s in sources:
        keys = {title_key(s.title), title_key(s.id)} & gold_keys
        out.append(min(keys) if keys else f"id:{s.id}")
    return out


def _retrieval_row(items: list[dict]) -> dict:
    """Mean of each retrieval metric over the questions, plus mean retrieval time."""
    row = {"n": len(items)}
    for name in RETRIEVAL_METRICS:
        row[name] = mean([it[name] for it in items])
    row["retrieve_ms_mean"] = mean([it["retrieve_ms"] for it in items])
    return row


def _answer_row(items: list[dict]) -> dict:
    """Citation precision/recall (micro: pooled over questions; macro: mean per question), refusals and timings."""
    ans = [it for it in items if it["answerable"]]
    unans = [it for it in items if not it["answerable"]]
    cited = sum(it["cited"] for it in ans)
    correct = sum(it["cited_correct"] for it in ans)
    gold = sum(it["gold"] for it in ans)
    seconds = [it["seconds"] for it in items]
    first = [it["first_token_ms"] for it in items if it["first_token_ms"] is not None]
    return {
        "n": len(items),
        "answerable": len(ans),
        "unanswerable": len(unans),
        "citation_precision_micro": correct / cited if cited else None,
        "citation_recall_micro": correct / gold if gold else None,
        # Macro precision is over answers that cite something: a refusal has no precision to average.
        "citation_precision_macro": mean([it["cited_correct"] / it["cited"] for it in ans if it["cited"]]),
        "citation_recall_macro": mean([it["cited_correct"] / it["gold"] for it in ans]),
        "false_refusals": sum(it["refused"] for it in ans),
        "false_refusal_rate": mean([float(it["refused"]) for it in ans]),
        "refusal_rate_unanswerable": mean([float(it["refused"]) for it in unans]),
        "seconds_mean": mean(seconds),
        "seconds_p50": percentile(seconds, 50),
        "seconds_p95": percentile(seconds, 95),
        "first_token_ms_mean": mean(first),
        "fallbacks": sum(it.get("fallback", False) for it in items),
    }


def _by_kind(items: list[dict], row, keep) -> dict[str, dict]:
    """One row per question kind (in KIND_ORDER, kept if keep(row)) and an "overall" row."""
    kinds = sorted({it["kind"] for it in items}, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    out = {kind: row([it for it in items if it["kind"] == kind]) for kind in kinds}
    out = {kind: r for kind, r in out.items() if keep(r)}
    out["overall"] = row(items)
    return out


def eval_questions(assistant, questions: list[Question], answers: bool = False) -> tuple[dict, list[dict]]:
    """Retrieval metrics per kind (answerable questions only) and, with answers, citation/refusal checks."""
    stored = set()
    for p in assistant.library.papers.values():
        stored |= {title_key(p.id), title_key(p.title)}
    details = []
    for q in questions:
        gold_keys = {title_key(g) for g in q.gold}
        for g in q.gold:
            if title_key(g) not in stored:
                print(f"warning: {q.id}: gold paper {g!r} is not in the store — wrong --store?", file=sys.stderr)
        t0 = time.perf_counter()
        sources = assistant.retrieve(q.question, k=QUESTION_K)
        item = {"id": q.id, "kind": q.kind, "answerable": q.answerable, "gold": len(gold_keys),
                "retrieve_ms": (time.perf_counter() - t0) * 1000, "retrieved": [s.id for s in sources[:QUESTION_K]]}
        if q.answerable:
            ranked = _ranked_keys(sources, gold_keys)
            item.update({"R@1": recall_at_k(ranked, gold_keys, 1), "R@5": recall_at_k(ranked, gold_keys, 5),
                         "R@10": recall_at_k(ranked, gold_keys, 10), "MRR": mrr(ranked, gold_keys, QUESTION_K),
                         "nDCG@10": ndcg_at_k(ranked, gold_keys, 10)})
        if answers:
            t0 = time.perf_counter()
            answer = assistant.ask(q.question)
            keys = {k for k in _ranked_keys(answer.citations, gold_keys) if not k.startswith("id:")}
            item.update({"seconds": time.perf_counter() - t0, "refused": bool(answer.refused),
                         "routed_kind": answer.kind, "citations": [c.id for c in answer.citations],
                         "cited": len({c.id for c in answer.citations}), "cited_correct": len(keys),
                         "first_token_ms": answer.timings.first_token_ms,
                         # The LLM wrote (a first token) but its text lost to the verified draft.
                         "fallback": bool(answer.extractive and answer.timings.first_token_ms is not None),
                         "refusal": answer.refusal.reason if answer.refusal else None})
        log.info("%s done", q.id)
        details.append(item)
    metrics = {"retrieval": _by_kind([it for it in details if it["answerable"]], _retrieval_row, lambda r: r["n"])}
    if answers:
        metrics["answers"] = _by_kind(details, _answer_row, lambda r: r["n"])
    return metrics, details


