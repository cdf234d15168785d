"""Paper names in a question: acronyms and short names (AdvCLIP, GroCo, Loki) and quoted titles."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from assistant.records import Source, StoredPaper
from assistant.text import acronyms

_COMMON_CAPS = frozenset("Which What How Why When Where Who Is Are Do Does Can Could Both Each The A An In On For "
                         "And Or Give Summarize Summarise Provide List Compare Please Also Any Is There".split())
TITLE_MATCH = 0.8  # difflib ratio a quoted title needs against a stored title


class NameIndex:
    """Lower-cased word -> ids of the papers whose title or abstract contains it."""

    def __init__(self, papers: dict[str, StoredPaper]):
        self._papers = papers
        self._words: dict[str, set[str]] = {}
        for pid, p in papers.items():
            for w in set(re.findall(r"\w+", f"{p.title} {p.abstract}".lower())):
                self._words.setdefault(w, set()).add(pid)

    def mentions(self, name: str) -> list[str]:
        """Ids of papers whose title or abstract contains `name` as a whole word (case-insensitive)."""
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        postings = [self._words.get(w, set()) for w in re.findall(r"\w+", name.lower())]
        candidates = set.intersection(*postings) if postings else set()
        return [pid for pid in self._papers if pid in candidates and (
            pattern.search(self._papers[pid].title) or pattern.search(self._papers[pid].abstract))]

    def resolve(self, question: str, search: Callable[[str], list[Source]]) -> list[str]:
        """Paper ids the question names by acronym/short name or quoted title, in the order named."""
        found: list[str] = []
        for quoted in re.findall(r"['‘\"“]([^'’\"”]{12,})['’\"”]", question):
            best = match_title(quoted, search(quoted))
            if best:
                found.append(best)
        for name in sorted(acronyms(question) | capitalised(question), key=question.find):
            mentions = self.mentions(name)
            if not mentions or len(mentions) > 2:
                continue  # unknown, or a common term (e.g. "CLIP") rather than one paper's name
            pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
            heads = [pid for pid in mentions if pattern.search(self._papers[pid].title)]
            found.append((heads or mentions)[0])
        return list(dict.fromkeys(found))


def match_title(text: str, candidates: list[Source]) -> str | None:
    """The candidate whose title a quoted text is (a quoted title is among the top hits for itself)."""
    key = text.lower().strip(" .")
    best, best_r = None, 0.0
    for src in candidates:
        r = difflib.SequenceMatcher(None, key, src.title.lower()).ratio()
        if r > best_r:
            best, best_r = src.id, r
    return best if best_r >= TITLE_MATCH else None


def capitalised(text: str, skip_first: bool = True) -> set[str]:
    """Capitalised words (candidate names like 'Loki' or 'Hydra'), by default not the question's first word."""
    toks = re.findall(r"(?<=[\s(])[A-Z][a-z]{2,}\b" if skip_first else r"\b[A-Z][a-z]{2,}\b", text)
    return {t for t in toks if t not in _COMMON_CAPS}


def names_paper(text: str, paper: StoredPaper) -> bool:
    """True when text names the paper (its short title or an acronym that occurs in its title/abstract)."""
    head = paper.short_name.lower()
    if head and head in text.lower():
        return True
    return any(re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", paper.title + " " + paper.abstract)
               for a in acronyms(text) | capitalised(text, skip_first=False))
