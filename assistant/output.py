"""The CLI contract's output shapes: `ask --json`, `verify --json` and the plain-text answer."""

from __future__ import annotations

from assistant.records import Answer, ClaimCheck, Source


def answer_json(answer: Answer, qid=None) -> dict:
    """The JSON contract of `ask --json`."""
    return {
        "id": qid,
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "refusal": answer.refusal.reason if answer.refusal else None,
        "citations": [{"n": c.n, "id": c.id, "title": c.title} for c in answer.citations],
        "sources": [source_json(s) for s in answer.sources],
        "kind": answer.kind,
        "table": answer.table.as_json() if answer.table else None,
        "sentences": [{"text": s.text, "citations": list(s.citations), "supported": s.supported,
                       "verdict": s.verdict, "score": s.support, "evidence": s.evidence} for s in answer.sentences],
        "extractive": answer.extractive,
        "notice": answer.notice,
        "standalone_question": answer.standalone_question or None,
        **answer.timings.as_json(),
    }


def source_json(s: Source) -> dict:
    return {"id": s.id, "title": s.title, "score": s.score}


def format_answer(answer: Answer) -> str:
    """Plain-text answer with a numbered reference list."""
    lines = [answer.text]
    if answer.table:
        lines.append("")
        cols = [f"[{c.n}] {c.title.split(':')[0]}" for c in answer.table.papers]
        lines.append(" | ".join(["aspect"] + cols))
        for aspect, row in zip(answer.table.aspects, answer.table.cells, strict=True):
            cells = [c.text + (f" [{c.citation}]" if c.citation else "") for c in row]
            lines.append(" | ".join([aspect] + cells))
    if answer.notice:
        lines += ["", f"({answer.notice})"]
    if answer.citations:
        lines += ["", "References:"] + [f"[{c.n}] {c.title}" + (f" — {c.url}" if c.url else "")
                                        for c in answer.citations]
    return "\n".join(lines)


def claim_json(check: ClaimCheck, cid=None) -> dict:
    """The JSON contract of `verify --json`."""
    return {"id": cid, "claim": check.claim,
            "verdicts": [{"id": src.id, "title": src.title, "label": v.label, "score": round(v.score, 3),
                          "evidence": list(v.evidence)} for src, v in check.verdicts]}


def format_claim(check: ClaimCheck) -> str:
    """Plain-text claim check: one line per paper, the deciding evidence quoted below it."""
    lines = [f"Claim: {check.claim}"]
    for src, v in check.verdicts:
        lines.append(f"  {LABELS[v.label]:<16} {v.score:.2f}  {src.title}")
        if v.evidence:
            lines.append(f"  {'':<16}       “{v.evidence[0]}”")
    return "\n".join(lines)


LABELS = {"supported": "supports", "contradicted": "contradicts", "not_enough_info": "not enough info"}
