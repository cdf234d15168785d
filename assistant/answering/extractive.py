"""The LLM-free answer: evidence sentences themselves, each cited to its own abstract."""

from __future__ import annotations

from assistant.kinds import get_kind
from assistant.records import Sentence, Source


def extractive_sentences(kind: str, papers: list[Source], evidence: dict[str, list[str]],
                         numbers: dict[str, int]) -> list[Sentence]:
    """An answer made of the evidence sentences, `extractive_take` per paper (all for a summary)."""
    take = get_kind(kind).extractive_take
    out = []
    for p in papers:
        for sent in evidence[p.id][:take] if take else evidence[p.id]:
            out.append(Sentence(sent, (numbers[p.id],), True, sent, 1.0))
    return out
