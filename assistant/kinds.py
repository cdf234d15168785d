"""The answer kinds: one registry read by prompts, CLI choices, routing, evaluation and the answer path.

Adding a kind is one entry here plus its task prompt in prompts/tasks/<name>.txt.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.errors import ConfigError


@dataclass(frozen=True)
class Kind:
    """Everything the answer path needs to know about one kind of question."""

    name: str
    evidence_per_paper: int  # abstract sentences per paper handed to the LLM
    max_tokens: int  # the LLM's output budget: the embedded model writes ~10-20 tokens/s on 2 cores
    sentences: str  # how many sentences the user prompt asks for
    extractive_take: int  # evidence sentences per paper in an LLM-free answer (0: all of them)
    max_papers: int  # papers an answer of this kind is about, at most
    table: bool = False  # a comparison table beside the prose
    cue: str = ""  # a regex over the (lower-cased) question that routes to this kind; "" = never by wording
    lead_bonus: float = 0.0  # evidence bonus for an abstract's opening sentences (problem and method)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("lookup", evidence_per_paper=3, max_tokens=120, sentences="2 to 3 sentences", extractive_take=2, max_papers=1),
    Kind("comparative", evidence_per_paper=3, max_tokens=160, sentences="3 to 5 sentences", extractive_take=2, max_papers=4,
         table=True),
    Kind("summary", evidence_per_paper=5, max_tokens=160, sentences="3 to 5 sentences", extractive_take=0, max_papers=1,
         lead_bonus=0.15),
    Kind("topic", evidence_per_paper=2, max_tokens=160, sentences="one sentence per paper", extractive_take=1, max_papers=8),
)}
DEFAULT_KIND = "lookup"


def get_kind(name: str) -> Kind:
    """The registry entry for a kind name."""
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown answer kind {name!r} — use one of {', '.join(KINDS)}") from None
