"""Follow-up questions: resolve "it", "those", "the second one", "the other one" against the earlier turns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.records import Answer, StoredPaper
from assistant.text import words

_ORDINALS = {"first": 0, "1st": 0, "former": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
             "4th": 3, "last": -1, "latter": -1}
_NOUN = r"(?:one|paper|method|model|work|dataset|benchmark|approach|study)"
_ORDINAL = re.compile(rf"\b(?:the\s+)?({'|'.join(_ORDINALS)})(?:\s+{_NOUN})?\b", re.IGNORECASE)
_OTHER = re.compile(rf"\bthe\s+other(?:\s+{_NOUN})?\b", re.IGNORECASE)
_SCOPE = re.compile(r"\b(?:which|what|who|any)\s+(?:one\s+)?(?:of|among)\s+(?:those|these|them|the(?:se|m)? papers)\b"
                    r"|\bamong\s+(?:those|these|them)\b", re.IGNORECASE)
_DESCRIBED = re.compile(rf"\bthe\s+((?:[\w-]+\s+){{1,3}}?){_NOUN}\b", re.IGNORECASE)
_PLURAL = re.compile(r"\b(?:both(?:\s+of\s+them)?|those(?:\s+papers)?|these(?:\s+papers)?|them|they|their|each)\b",
                     re.IGNORECASE)
_SINGULAR = re.compile(r"\b(?:it|its|it's|this|that(?=\s+(?:one|paper|method|model|work|dataset)\b|\s*\?)|"
                       rf"(?:this|that|the)\s+{_NOUN}|the authors)\b", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:ok(?:ay)?|so|and|also|but|then|now|hmm|cool|great|thanks)[\s,]+", re.IGNORECASE)
_ELLIPTIC = re.compile(r"^\s*(?:and|also|what about|how about|ok(?:ay)?|so)\b", re.IGNORECASE)


# A question that searches anew ("is there another ...", "which paper ...", "anything on ...") is not a follow-up.
_NEW_SEARCH = re.compile(r"\b(?:which|what|any|find|the|a|an|another|other)\s+(?:[\w-]+\s+){0,3}?(?:papers?|ones?|"
                         r"methods?|works?|studies|study|datasets?|benchmarks?|approach(?:es)?)\b|^\s*(?:is|are) there\b"
                         r"|\banything\b|\beverything\b|\bin here\b", re.IGNORECASE)


@dataclass(frozen=True)
class Resolved:
    """A follow-up with its references replaced: the papers it means and the papers it picks among."""

    standalone: str
    papers: tuple[str, ...] = ()  # ids the references stand for, in the order they appear
    scope: tuple[str, ...] = ()  # "which of those ...": the earlier answer's papers to choose among
    reason: str = ""


def turn_papers(answer: Answer) -> list[str]:
    """An earlier answer's papers in the order the user named them (table columns), else as cited."""
    if answer.table is not None:
        return [c.id for c in answer.table.papers]
    return [c.id for c in answer.citations]


def resolve(question: str, history: Sequence[tuple[str, Answer]], papers: dict[str, StoredPaper],
            named: Sequence[str] = ()) -> Resolved:
    """The follow-up rewritten into a standalone question, with the papers its references mean."""
    turns = [turn_papers(a) for _, a in history if not a.refused and a.citations]
    if not turns:
        return Resolved(question)
    last = turns[-1]
    multi = next((t for t in reversed(turns) if len(t) >= 2), [])
    q = question
    if m := _SCOPE.search(q):
        return Resolved(_sub(q, m, _names(last, papers, " or ")), scope=tuple(last), reason="picks among the last "
                        "answer's papers")
    if (m := _ORDINAL.search(q)) and multi:
        i = _ORDINALS[m.group(1).lower()]
        if i < len(multi):
            pid = multi[i]
            return Resolved(_sub(q, m, _names([pid], papers)), (pid,), reason=f"the {m.group(1)} paper named earlier")
    if (m := _OTHER.search(q)) and multi:
        current = set(turns[-1]) if len(turns[-1]) == 1 else set()
        if len(turns) >= 2 and len(turns[-1]) == 1:
            rest = [p for p in multi if p not in current]
        else:
            rest = multi[1:]
        if rest:
            return Resolved(_sub(q, m, _names(rest[:1], papers)), tuple(rest[:1]), reason="the other paper")
    if (m := _DESCRIBED.search(q)) and not named:
        pid = _best_described(m.group(1), multi or last, papers)
        if pid:
            return Resolved(_sub(q, m, _names([pid], papers)), (pid,), reason="the paper described")
    if named and not _SINGULAR.search(q) and not _PLURAL.search(q):
        return Resolved(question)  # names its own papers: not a reference to the earlier ones
    if m := _PLURAL.search(q):
        if len(last) >= 2:
            possessive = m.group(0).lower() == "their"
            return Resolved(_sub(q, m, _names(last, papers) + ("'s" if possessive else "")), tuple(last),
                            reason="refers to the last answer's papers")
    if m := _SINGULAR.search(q) or _PLURAL.search(q):
        pid = last[0]
        name = _names([pid], papers)
        possessive = m.group(0).lower() in ("its", "their")
        return Resolved(_sub(q, m, name + ("'s" if possessive else "")), (pid,), reason="refers to the last answer")
    if not named and (_ELLIPTIC.search(q) or not _NEW_SEARCH.search(q)):
        pid = last[0]
        return Resolved(f"{_LEAD.sub('', q).rstrip(' ?')} ({_names([pid], papers)})?", (pid,),
                        reason="continues the last answer")
    return Resolved(question)


def _names(pids: Sequence[str], papers: dict[str, StoredPaper], joiner: str = " and ") -> str:
    names = [display_name(papers[p]) for p in pids if p in papers]
    if len(names) <= 2:
        return joiner.join(names)
    return ", ".join(names[:-1]) + joiner + names[-1]


def display_name(p: StoredPaper) -> str:
    """How a rewritten question names a paper: its short name, quoted when it is a long title."""
    short = p.short_name or p.title
    return short if len(short.split()) <= 4 else f"'{short}'"


def _sub(q: str, m: re.Match, text: str) -> str:
    out = q[: m.start()] + text + q[m.end():]
    return _LEAD.sub("", out).strip()


def _best_described(description: str, pids: Sequence[str], papers: dict[str, StoredPaper]) -> str | None:
    """The earlier paper a description ("the pre-training one") fits best by its words; None on a tie."""
    want = set(words(description))
    if not want:
        return None
    scored = sorted(((2 * len(want & set(words(papers[p].title))) + len(want & set(words(papers[p].abstract))), p)
                     for p in pids if p in papers), reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]
