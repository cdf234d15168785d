"""Evidence: the abstract sentences most relevant to the question, per paper, in abstract order."""

from __future__ import annotations

import numpy as np

from assistant.kinds import get_kind
from assistant.records import Source
from assistant.retrieval.hybrid import Library, Query
from assistant.text import words

LEXICAL_WEIGHT = 0.5  # evidence score = cosine + 0.5 * share of the question's words in the sentence


def select_evidence(library: Library, query: Query, kind: str, papers: list[Source]) -> dict[str, list[str]]:
    """paper id -> its evidence sentences for this question."""
    spec = get_kind(kind)
    qw = set(words(query.text))
    out: dict[str, list[str]] = {}
    for p, (sents, vecs) in zip(papers, library.sentences.get([p.paper for p in papers]), strict=True):
        if not sents:
            out[p.id] = []
            continue
        lex = np.array([len(qw & set(words(s))) / max(len(qw), 1) for s in sents])
        score = vecs @ query.vector + LEXICAL_WEIGHT * lex
        if spec.lead_bonus:
            score = score + np.linspace(spec.lead_bonus, 0, len(sents))  # opening sentences state problem and method
        keep = sorted(np.argsort(-score)[: spec.evidence_per_paper])
        out[p.id] = [sents[i] for i in keep]
    return out
