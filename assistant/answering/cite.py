"""Citation attribution and verification: our code decides what each answer sentence cites."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from assistant.prompts import NOT_FOUND_KEY
from assistant.records import Citation, Sentence
from assistant.text import evidence_sentences, split_sentences, words

# A sentence is supported when its best abstract sentence scores at least this (0.5*cosine + 0.5*word overlap).
# Calibrated on dev answers: copied/paraphrased sentences score 0.55-0.95, off-topic ones 0.1-0.35.
SUPPORT_THRESHOLD = 0.45
# A claimed citation is kept if it is within this margin of the best-supporting source.
KEEP_MARGIN = 0.08
NAMED_FACTOR = 0.6
_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;-]\s*\d+)*)\]")
_META = re.compile(r"\b(in|from|by) (these|the (provided|given|above)) (abstracts|sources)\b", re.IGNORECASE)
_SOURCE_WORD = re.compile(r"\(?\b(?:Source|Sources|Paper)\s+(\d+)\)?", re.IGNORECASE)


@dataclass
class CitableSource:
    """A paper the answer may cite: its number in the prompt, sentences and their embeddings."""

    n: int
    id: str
    title: str
    url: str
    sentences: list[str]
    vectors: np.ndarray  # (len(sentences), dim), L2-normalised
    word_sets: list[set[str]]

    @classmethod
    def from_parts(cls, n: int, pid: str, title: str, url: str, sentences: list[str], vectors: np.ndarray,
                   title_vector: np.ndarray) -> CitableSource:
        """From already embedded abstract sentences; the title counts as a citable sentence too."""
        vecs = np.vstack([title_vector.reshape(1, -1), vectors])
        sents = [title] + sentences
        return cls(n, pid, title, url, sents, vecs, [set(words(s)) for s in sents])

    @classmethod
    def build(cls, n: int, pid: str, title: str, abstract: str, url: str,
              embed: Callable[[list[str]], np.ndarray]) -> CitableSource:
        """Split and embed an abstract (and its title)."""
        sents = evidence_sentences(abstract)
        vecs = embed([title] + sents)
        return cls.from_parts(n, pid, title, url, sents, vecs[1:], vecs[0])


def parse_markers(sentence: str) -> tuple[str, list[int]]:
    """Strip [n] / [1, 2] / 'Source 2' markers from a sentence; return the clean text and the numbers."""
    nums: list[int] = []

    def grab(m: re.Match) -> str:
        for part in re.split(r"[,;]", m.group(1)):
            if "-" in part:
                a, _, b = part.partition("-")
                if a.strip().isdigit() and b.strip().isdigit() and int(b) - int(a) < 10:
                    nums.extend(range(int(a), int(b) + 1))
            elif part.strip().isdigit():
                nums.append(int(part))
        return ""

    text = _MARKER.sub(grab, sentence)
    text = _SOURCE_WORD.sub(lambda m: (nums.append(int(m.group(1))), "")[1], text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text).strip()
    return text, nums


def split_answer(text: str) -> list[str]:
    """Answer text -> sentences, with list bullets and headings removed."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip().lstrip("#").strip()
        if line and not re.match(r"^(sources?|references?|answer)\s*:?\s*$", line, re.IGNORECASE):
            lines.append(line)
    out = []
    for line in lines:
        out.extend(split_sentences(line))
    return out


def support_scores(sentence: str, vec: np.ndarray, sources: list[CitableSource]) -> list[tuple[float, str]]:
    """For each source: (best support score, the abstract sentence giving it)."""
    ws = set(words(sentence))
    out = []
    for src in sources:
        cos = src.vectors @ vec
        if ws:
            overlap = np.array([len(ws & w) / len(ws) for w in src.word_sets])
        else:
            overlap = np.zeros(len(src.sentences))
        score = 0.5 * cos + 0.5 * overlap
        i = int(np.argmax(score))
        out.append((float(score[i]), src.sentences[i]))
    return out


def attribute(text: str, sources: list[CitableSource], embed: Callable[[list[str]], np.ndarray],
              threshold: float = SUPPORT_THRESHOLD) -> list[Sentence]:
    """Split an LLM answer into sentences and give each the citations its content supports.

    Citation numbers refer to `sources[i].n`. Wrong numbers are corrected, numbers of papers that were not
    retrieved are dropped, and a sentence no source supports is returned with supported=False.
    """
    raw = split_answer(text)
    cleaned = [parse_markers(s) for s in raw]
    # Sentences about the sources themselves ("The answer is in these abstracts.") carry no claim: dropped.
    cleaned = [(t, n) for t, n in cleaned
               if t and NOT_FOUND_KEY not in t.lower() and not _META.search(t) and len(words(t)) > 0]
    if not cleaned or not sources:
        return []
    vecs = embed([t for t, _ in cleaned])
    by_n = {s.n: i for i, s in enumerate(sources)}
    result = []
    for (sent, claimed), vec in zip(cleaned, vecs, strict=True):
        scores = support_scores(sent, vec, sources)
        best_i = int(np.argmax([s for s, _ in scores]))
        best, evidence = scores[best_i]
        if best < threshold:
            # Resemblance only proposes the paper; entailment (the verification stage) decides. A faithful sentence
            # that joins several evidence sentences in new words resembles none of them: the paper it cites (else
            # the most similar one) is the premise it is judged against.
            cited = [n for n in dict.fromkeys(claimed) if n in by_n] or [sources[best_i].n]
            result.append(Sentence(sent, tuple(cited), False, "", round(best, 3), "not_enough_info"))
            continue
        keep = [n for n in dict.fromkeys(claimed) if n in by_n
                and scores[by_n[n]][0] >= threshold and scores[by_n[n]][0] >= best - KEEP_MARGIN]
        # A sentence naming several papers (comparisons) cites each one it names and that supports it.
        for i, src in enumerate(sources):
            # Half of a two-paper sentence is about the other paper, so a named paper needs less overall support.
            if src.n not in keep and scores[i][0] >= NAMED_FACTOR * threshold and _names(src.title, sent):
                keep.append(src.n)
        if not keep:
            keep = [sources[best_i].n]
        result.append(Sentence(sent, tuple(keep), True, evidence, round(best, 3)))
    return result


def _names(title: str, sentence: str) -> bool:
    """True when the sentence mentions the paper by its short name (the part of the title before ':')."""
    head = title.split(":")[0].strip()
    return 2 <= len(head) <= 25 and re.search(rf"(?<!\w){re.escape(head)}(?!\w)", sentence) is not None


def renumber(sentences: list[Sentence], sources: list[CitableSource]) -> tuple[list[Sentence], list[Citation]]:
    """Number citations 1..m by first appearance, so the reference list is contiguous."""
    by_n = {s.n: s for s in sources}
    mapping: dict[int, int] = {}
    for sent in sentences:
        for n in sent.citations:
            mapping.setdefault(n, len(mapping) + 1)
    out = [replace(s, citations=tuple(mapping[n] for n in s.citations)) for s in sentences]
    cites = [Citation(new, by_n[old].id, by_n[old].title, by_n[old].url) for old, new in mapping.items()]
    return out, cites


FLAGS = {"contradicted": "contradicted", "not_enough_info": "unsupported"}  # how a flagged sentence is marked


def render(sentences: list[Sentence], unsupported: str = "flag") -> str:
    """Sentences back to prose with [n] markers; unsupported ones flagged or dropped."""
    parts = []
    for s in sentences:
        if not s.supported and unsupported == "drop":
            continue
        marks = "".join(f"[{n}]" for n in s.citations)
        text = s.text if s.supported else f"{s.text.rstrip('.!?')} [{FLAGS.get(s.verdict, 'unsupported')}]."
        if text and text[-1] in ".!?":
            parts.append(f"{text[:-1]} {marks}{text[-1]}")
        else:
            parts.append(f"{text} {marks}")
    return " ".join(parts)
