"""MCP tools for agents: search the papers, ask a question, check a claim — served by Gradio's own MCP server.

Each tool is a typed function with a docstring (Gradio builds the tool's schema and description from them),
registered with `gr.api`; results are JSON text, the same fields as `paperchat ask --json` where they overlap.
"""

from __future__ import annotations

import json

import gradio as gr

from assistant.records import Answer, ClaimCheck, Filters, Source
from assistant.service import Assistant

TOOLS = ("search_papers", "ask", "check_claim")
FILTER_KEYS = ("since", "until", "author", "tag")
MAX_K = 50  # papers one search may return; the UI shows 5 by default


def register_tools(assistant: Assistant, concurrency: int) -> None:
    """Register the three tools as API endpoints of the Blocks being built (call inside the Blocks)."""

    def search_papers(query: str, k: int = 5, filters: dict | None = None) -> str:
        """Search the paper abstracts in the store and return the best-matching papers, best first, as JSON.

        Args:
            query: What to look for, in words (a topic, a method's name, a question).
            k: How many papers to return (1 to 50).
            filters: Optional metadata filters: {"since": "2023", "until": "2024-06-30", "author": "substring of an author's name", "tag": "cs.CV"}.
        """
        flt = _filters(filters)
        sources = assistant.retrieve(_required(query, "query"), k=max(1, min(int(k), MAX_K)), filters=flt)
        return json.dumps({"query": query, "papers": [source_json(s) for s in sources]}, ensure_ascii=False)

    def ask(question: str) -> str:
        """Answer a question from the paper abstracts; every sentence is cited and checked against the cited abstracts.

        Args:
            question: The question, in words.
        """
        answer = assistant.ask(_required(question, "question"))
        return json.dumps(answer_json(answer), ensure_ascii=False)

    def check_claim(claim: str) -> str:
        """Check a claim against the best-matching papers: which support it, which contradict it, with the quoted evidence.

        Args:
            claim: One factual statement, e.g. "AdvCLIP attacks cross-modal pre-trained encoders."
        """
        return json.dumps(claim_json(assistant.check_claim(_required(claim, "claim"))), ensure_ascii=False)

    for fn, api_name in ((search_papers, "search_papers"), (ask, "ask_question"), (check_claim, "check_claim")):
        gr.api(fn, api_name=api_name, concurrency_id="assistant", concurrency_limit=concurrency)


def source_json(s: Source) -> dict:
    """A retrieved paper as the tools return it."""
    p = s.paper
    return {"id": p.id, "title": p.title, "authors": list(p.authors), "published": p.published_text, "url": p.url,
            "categories": list(p.categories), "score": round(s.score, 4), "abstract": p.abstract}


def answer_json(answer: Answer) -> dict:
    """The verified answer: text, refusal, citations, and per sentence its verdict, score and evidence."""
    return {"question": answer.question, "text": answer.text, "refused": answer.refused,
            "refusal": answer.refusal.reason if answer.refusal else None, "kind": answer.kind,
            "citations": [{"n": c.n, "id": c.id, "title": c.title, "url": c.url} for c in answer.citations],
            "sentences": [{"text": s.text, "citations": list(s.citations), "verdict": s.verdict,
                           "score": s.support, "evidence": s.evidence} for s in answer.sentences],
            "table": answer.table.as_json() if answer.table else None, "extractive": answer.extractive,
            "notice": answer.notice, **answer.timings.as_json()}


def claim_json(check: ClaimCheck) -> dict:
    """Per paper: its label, score and the evidence sentence(s) that decided it."""
    return {"claim": check.claim,
            "verdicts": [{"id": s.id, "title": s.title, "label": v.label, "score": round(v.score, 4),
                          "evidence": list(v.evidence), "reason": v.reason} for s, v in check.verdicts]}


def _required(text: str, name: str) -> str:
    text = " ".join(str(text or "").split())
    if not text:
        raise gr.Error(f"`{name}` is empty — pass it as words, e.g. {name}=\"universal adversarial patch\"")
    return text


def _filters(filters: dict | None) -> Filters | None:
    if not filters:
        return None
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise gr.Error(f"unknown filter(s) {', '.join(unknown)} — use {', '.join(FILTER_KEYS)}")
    values = {key: str(filters.get(key) or "") for key in FILTER_KEYS}
    flt = Filters.from_text(**values)
    for key in ("since", "until"):
        if values[key] and getattr(flt, key) is None:
            raise gr.Error(f"filters.{key}={values[key]!r} is not a date — use YYYY, YYYY-MM or YYYY-MM-DD")
    return flt
