"""Verify: every answer sentence and table cell judged against the evidence of the papers it cites.

Attribution (cite.py) proposes which papers a sentence is about; the judge decides whether their sentences
entail it. A sentence citing several papers is judged against the union of their sentences (as ALCE does); a
citation that does not entail its sentence moves to a chosen paper that does, or the sentence is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from assistant.records import Sentence, Table, Verdict
from assistant.text import words

from .cite import SUPPORT_THRESHOLD, CitableSource


class Judge(Protocol):
    """Judges claims against premise sentences (assistant.verify.Verifier, or the resemblance baseline)."""

    def judge_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[Verdict]: ...


class ResemblanceJudge:
    """The earlier check, kept as a measured baseline: 0.5 x cosine + 0.5 x word overlap >= 0.45 is 'supported'.

    It cannot tell a claim from its negation (SciFact dev: accepts 82% of contradicted claims)."""

    def __init__(self, embed):
        self._embed = embed

    def judge_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[Verdict]:
        """One verdict per (claim, premises)."""
        out = []
        for claim, premises in items:
            if not premises:
                out.append(Verdict("not_enough_info", 0.0, (), "no premise"))
                continue
            vecs = self._embed([claim, *premises])
            cw = set(words(claim))
            overlap = np.array([len(cw & set(words(p))) / max(len(cw), 1) for p in premises])
            score = 0.5 * (vecs[1:] @ vecs[0]) + 0.5 * overlap
            i = int(np.argmax(score))
            label = "supported" if score[i] >= SUPPORT_THRESHOLD else "not_enough_info"
            out.append(Verdict(label, round(float(score[i]), 3), (premises[i],), "resemblance"))
        return out


def _verbatim(text: str, premises: Sequence[str]) -> str | None:
    """The premise a sentence quotes (extractive answers, table cells cut with '…'), if any."""
    core = " ".join(text.rstrip("…").split())
    if len(core) < 20:
        return None
    return next((p for p in premises if core in " ".join(p.split())), None)


class Verifier:
    """The verification stage over one answer's citable papers."""

    def __init__(self, judge: Judge, citable: list[CitableSource]):
        self.judge = judge
        self.by_n = {c.n: c for c in citable}

    def _premises(self, numbers: Sequence[int]) -> list[str]:
        # The title is CitableSource.sentences[0]; a title entails nothing, so only abstract sentences count.
        return [s for n in numbers if n in self.by_n for s in self.by_n[n].sentences[1:]]

    def sentences(self, sentences: list[Sentence]) -> list[Sentence]:
        """Each attributed sentence with its verdict; citations moved to the paper that entails it, if any."""
        todo = list(range(len(sentences)))
        quoted = {i: _verbatim(sentences[i].text, self._premises(sentences[i].citations)) for i in todo}
        ask = [i for i in todo if quoted[i] is None]
        verdicts = dict(zip(ask, self.judge.judge_many(
            [(sentences[i].text, self._premises(sentences[i].citations)) for i in ask]), strict=True))
        out = list(sentences)
        for i in todo:
            if quoted[i] is not None:
                out[i] = replace(sentences[i], supported=True, verdict="supported", evidence=quoted[i], support=1.0)
            else:
                out[i] = self._settle(sentences[i], verdicts[i])
        return out

    def _settle(self, sentence: Sentence, verdict: Verdict) -> Sentence:
        if verdict.supported:
            return _with(sentence, sentence.citations, verdict)
        others = [n for n in self.by_n if n not in sentence.citations]
        moved = self.judge.judge_many([(sentence.text, self._premises([n])) for n in others]) if others else []
        best = max(((v.score, n, v) for n, v in zip(others, moved, strict=True) if v.supported), default=None)
        if best is not None:
            return _with(sentence, (best[1],), best[2])  # the citation moves to the paper that entails it
        # Not entailed by any chosen paper: flagged with the verdict. The citations attribution found stay, so the
        # reader sees which abstract the sentence was checked against (and `drop` removes it altogether).
        return replace(sentence, supported=False, verdict=verdict.label, support=round(verdict.score, 3),
                       evidence=verdict.evidence[0] if verdict.evidence else "")

    def table(self, table: Table) -> Table:
        """Every stated cell judged against its own paper's sentences."""
        cells = [(r, c, cell) for r, row in enumerate(table.cells) for c, cell in enumerate(row)
                 if cell.citation is not None]
        ask = [(r, c, cell) for r, c, cell in cells if _verbatim(cell.text, self._premises([cell.citation])) is None]
        verdicts = self.judge.judge_many([(cell.text, self._premises([cell.citation])) for _, _, cell in ask])
        label = {(r, c): v.label for (r, c, _), v in zip(ask, verdicts, strict=True)}
        rows = tuple(tuple(replace(cell, verdict=label.get((r, c), "supported")) if cell.citation is not None
                           else cell for c, cell in enumerate(row)) for r, row in enumerate(table.cells))
        return Table(table.aspects, table.papers, rows)


def _with(sentence: Sentence, citations: tuple[int, ...], verdict: Verdict) -> Sentence:
    return replace(sentence, citations=tuple(citations), supported=True, verdict="supported",
                   support=round(verdict.score, 3), evidence=verdict.evidence[0] if verdict.evidence else "")
