"""Understand a question: its kind, the standalone form of a follow-up, the sides of a comparison, a detail asked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.kinds import DEFAULT_KIND
from assistant.records import Answer
from assistant.text import acronyms

# Questions about a specific detail (a count, a budget, a licence) must find that detail in the evidence.
_DETAIL = re.compile(r"^\s*(how many|how much|how long|what (?:is|was|are|were) the (?:number|size|budget|cost)"
                     r"|what .*\b(?:reported|licen[cs]e|budget|agreement)\b)", re.IGNORECASE)
_LOOKUP_START = re.compile(
    r"^\s*(?:(?:which|what)\s+(?!(?:do|does|did|is|are|was|were)\b)(?:[\w-]+\s+){0,5}?(?:paper|method|approach|work|"
    r"model|pipeline|framework|attack|update|variant|benchmark|dataset|system|technique|study|algorithm|loss)\b(?!s)"
    r"|is there\b|how can\b)", re.IGNORECASE)
_SUMMARY = re.compile(r"\bsummar|\boverview of\b|\btl;?dr\b")
_TOPIC = re.compile(r"^\s*(which|what) (papers|works|studies|methods)\b|\bwhat do these papers\b|\blist (the |all )?"
                    r"papers|\bpapers (that|which|on|about)\b|\bany papers\b")
_COMPARE = re.compile(r"\bdiffer\b|\bdiffer(s|ent|ence) between\b|\bcompar|\bversus\b|\bvs\.?\s|\bboth\b"
                      r"|\band\b[^,?]{0,80}\beach\b|\bsimilarit(y|ies) between\b|\bhow do .* differ")
_FOLLOW_UP = re.compile(r"^\s*(and|also|what about|how about|but)\b|\b(it|its|they|their|them|this paper|that paper|"
                        r"these papers|the paper|this method|that method|this work|the authors)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Understanding:
    """What the answer path decided about a question, with the reason (shown by the CLI, UI and evaluation)."""

    question: str  # as typed
    standalone: str  # with follow-up references resolved
    kind: str
    reason: str  # why this kind
    sides: tuple[str, ...] = ()  # what a comparison compares, as retrieval queries
    detail: bool = False  # a specific detail (count, budget, licence) is asked for


def route_kind(question: str) -> tuple[str, str]:
    """(kind, reason) from the question's wording."""
    q = question.lower()
    if _SUMMARY.search(q):
        return "summary", "asks for a summary"
    if _TOPIC.search(q):
        return "topic", "asks for the papers on a topic"
    if _LOOKUP_START.search(q):
        return "lookup", "asks which paper or method"
    if _COMPARE.search(q):
        return "comparative", "asks for a comparison"
    return DEFAULT_KIND, "no kind cue: a lookup"


def understand(question: str, history: Sequence[tuple[str, Answer]] = (), kind: str | None = None) -> Understanding:
    """The understanding step for one question (and the conversation so far)."""
    standalone = standalone_question(question, history)
    routed, reason = route_kind(standalone)
    if kind:
        routed, reason = kind, "kind given by the caller"
    return Understanding(question, standalone, routed, reason, tuple(sides(standalone)),
                         _DETAIL.search(standalone) is not None)


def sides(question: str) -> list[str]:
    """The things a comparative question compares, as retrieval queries."""
    q = re.sub(r"^\s*(how do|how does|what do|what does|in what way do|compare|both)\s+(the\s+)?", "", question,
               flags=re.I)
    q = re.split(r"\b(differ|each|both|compare|versus|vs\.?|are|argue|share)\b|[?.]", q, maxsplit=1)[0]
    parts = [p.strip(" ,.?") for p in re.split(r"\band\b|\bvs\.?\b|\bversus\b|,", q) if len(p.strip()) > 3]
    return parts[:3] if len(parts) >= 2 else []


def standalone_question(question: str, history: Sequence[tuple[str, Answer]] | None) -> str:
    """Rewrite a follow-up ('and what are its limitations?') into a standalone question using the last answer."""
    if not history or not _FOLLOW_UP.search(question) or acronyms(question):
        return question
    _, last = history[-1]
    titles = [c.title.split(":")[0] for c in last.citations][:3]
    if not titles:
        return question
    subject = " and ".join(f"'{t}'" if len(t) > 25 else t for t in titles)
    q = re.sub(r"^\s*(and|also|but)\s+", "", question, flags=re.IGNORECASE)
    q = re.sub(r"\b(this paper|that paper|the paper|this method|that method|this work)\b", subject, q, flags=re.I)
    q = re.sub(r"\b(its|their)\b", f"{subject}'s", q, count=1, flags=re.IGNORECASE)
    q = re.sub(r"\b(it|they|them)\b", subject, q, count=1, flags=re.IGNORECASE)
    return q if q != question else f"{question} (about {subject})"
