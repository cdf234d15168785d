"""Ranking metrics (pure; ranked and relevant are document ids) and small statistics."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Sequence

import numpy as np


def _unique(ranked: Sequence[str]) -> list[str]:
    """Ranked ids with repeats removed: a document counts once, at its best rank."""
    return list(dict.fromkeys(ranked))


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Fraction of the relevant ids found in the top k (0.0 when nothing is relevant)."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel.intersection(_unique(ranked)[:k])) / len(rel)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-relevance nDCG@k as pytrec_eval computes it: ideal DCG has min(|relevant|, k) hits on top."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 2) for rank, doc in enumerate(_unique(ranked)[:k]) if doc in rel)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(rel), k)))
    return dcg / ideal


def mrr(ranked: Sequence[str], relevant: Collection[str], k: int | None = None) -> float:
    """Reciprocal rank of the first relevant id within the top k (0.0 if there is none)."""
    rel = set(relevant)
    for rank, doc in enumerate(_unique(ranked)[:k]):
        if doc in rel:
            return 1.0 / (rank + 1)
    return 0.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (linear interpolation), or None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), p)) if len(values) else None


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None for no values."""
    return float(np.mean(np.asarray(values, dtype=float))) if len(values) else None


def title_key(text: str) -> str:
    """Lowercase alphanumeric-only form of a title or id, so punctuation and case never decide a match."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text).casefold() if ch.isalnum())


