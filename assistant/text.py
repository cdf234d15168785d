"""Text helpers shared by chunking, evidence selection and citation checks."""

from __future__ import annotations

import re
from functools import lru_cache

# Abbreviations that end in a period but do not end a sentence.
_ABBREV = ("e.g", "i.e", "et al", "etc", "vs", "Fig", "fig", "Eq", "eq", "cf", "approx", "resp", "Sec", "No")
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9(\[\"'])")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_STOP = frozenset(
    "a an the of and or in on for to with by from as at is are was were be been being this that these those it its "
    "we our us they their them which what who whom how why when where do does did can could may might will would "
    "shall should has have had not no than then there here such into over under between both each also more most "
    "other some any all only so very just about paper papers propose proposes proposed approach method methods "
    "work works use uses used using based show shows new novel".split()
)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations like 'e.g.' and 'et al.' inside one sentence."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    parts = _SPLIT.split(text)
    out: list[str] = []
    for part in parts:
        if out and (out[-1].endswith(tuple(a + "." for a in _ABBREV)) or len(out[-1]) < 12):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return [s.strip() for s in out if s.strip()]


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball English, the same stemmer bm25s uses

    return Stemmer.Stemmer("english")


def words(text: str, parts: bool = False) -> list[str]:
    """Lowercased word tokens, stop words removed, stemmed; with parts, a hyphenated word is followed by its parts
    ("few-shot" -> few-shot, few, shot: the BM25 tokens, so "few shot" finds "few-shot")."""
    toks = [w.lower() for w in _WORD.findall(text)]
    if parts:
        toks = [p for t in toks for p in ([t, *t.split("-")] if "-" in t else [t])]
    toks = [t for t in toks if t not in _STOP and len(t) > 1]
    return _stemmer().stemWords(toks)


def acronyms(text: str) -> set[str]:
    """Method names / acronyms in a question (SwAV, AdvCLIP, Bi-Mix, G-SimCLR): mixed-case or all-caps tokens."""
    out = set()
    for tok in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]", text):
        if sum(c.isupper() for c in tok) >= 2 or (any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok)):
            out.add(tok)
    return out


_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(previous|prior|above|all|earlier)\b.{0,20}\b(instructions?|prompts?|rules)"
    r"|\b(system prompt|you are now|new instructions|answer only with|respond only with|reply only with)\b",
    re.IGNORECASE)


def is_instruction_like(sentence: str) -> bool:
    """True for text addressed to a model (prompt injection) rather than describing research."""
    return _INSTRUCTION.search(sentence) is not None


def evidence_sentences(abstract: str) -> list[str]:
    """An abstract's sentences that may serve as evidence: injected instructions are left out."""
    return [s for s in split_sentences(abstract) if not is_instruction_like(s)]
