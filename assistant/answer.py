"""Answering: route the question, pick the papers and evidence, let the LLM phrase, then verify every citation."""

from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from assistant.cite import CitableSource, attribute, render, renumber
from assistant.embed import MiniLMEmbedding
from assistant.errors import LLMError, StoreError
from assistant.prompts import NOT_FOUND, NOT_FOUND_KEY, load_prompts
from assistant.records import Answer, Citation, Sentence, Source
from assistant.retrieve import Filters, Retriever
from assistant.settings import Settings
from assistant.store import Store, open_store
from assistant.text import acronyms, evidence_sentences, words

log = logging.getLogger(__name__)

# Refusal: the best paper must pass either bar (dense = best chunk cosine, lexical = BM25 of the paper).
# Calibrated on the dev questions (int8 embedder, chunker 2): answerable ones with BM25 < 5 score dense >= 0.45,
# off-corpus ones <= 0.39; the bar sits between.
MIN_DENSE = 0.42
MIN_DENSE_WITH_LEXICAL = 0.33
MIN_LEXICAL = 5.0
# Rerank score = RERANK_SENTENCE * best sentence cosine + best chunk cosine + RERANK_BM25 * BM25 (capped at 20).
# Tuned on SciFact train (nDCG@10 0.729 -> 0.739 over 1.0 / 0.01); test 0.718 -> 0.729.
RERANK_SENTENCE = 0.7
RERANK_BM25 = 0.03
RERANK_DEPTH = 10
TITLE_CANDIDATES = 20  # retrieved papers a quoted title is matched against
SENTENCE_MEMORY = 5000  # papers whose sentence vectors are kept in memory (~15 KB each)
# Topic questions take every paper whose rerank score is at least this fraction of the best one.
TOPIC_RATIO = 0.8
TOPIC_MAX = 8
EVIDENCE_PER_PAPER = {"lookup": 3, "comparative": 3, "summary": 5, "topic": 2}
# Output budget per kind: the embedded model writes ~10-20 tokens/s on 2 cores, and copies text when allowed more.
MAX_TOKENS = {"lookup": 120, "comparative": 220, "summary": 200, "topic": 200}
SENTENCES_PER_KIND = {"lookup": "2 to 3", "comparative": "3 to 5", "summary": "3 to 5", "topic": "one per paper,"}
ASPECTS = {
    "problem": "the problem, challenge or limitation the paper addresses",
    "approach": "the proposed method, model or framework and how it works",
    "supervision / data": "the data, labels or supervision used for training",
    "evaluation / claims": "experiments, benchmarks, results and claimed improvements",
}
ASPECT_CUES = {
    "problem": r"\b(problem|challenge|however|lack|limit|suffer|issue|difficult|costly|bottleneck|gap)",
    "approach": r"\b(we propose|we present|we introduce|propose|framework|method|approach|model|architecture|module)",
    "supervision / data": r"\b(label|unlabel|supervis|annotat|dataset|data|pairs|training|pretrain|pre-train)",
    "evaluation / claims": r"\b(experiment|result|outperform|benchmark|state-of-the-art|evaluat|achiev|demonstrat|show)",
}
NOT_STATED = "not stated in the abstract"
# Questions about a specific detail (a count, a budget, a licence) must find that detail in the evidence.
_DETAIL = re.compile(r"^\s*(how many|how much|how long|what (?:is|was|are|were) the (?:number|size|budget|cost)"
                     r"|what .*\b(?:reported|licen[cs]e|budget|agreement)\b)", re.IGNORECASE)
_GENERIC = set(words("model models paper papers method report reported use used have has does do what how many much "
                     "long number size the a an is was are were for of in on"))


_LOOKUP_START = re.compile(
    r"^\s*(?:(?:which|what)\s+(?!(?:do|does|did|is|are|was|were)\b)(?:[\w-]+\s+){0,5}?(?:paper|method|approach|work|model|pipeline|framework|attack|"
    r"update|variant|benchmark|dataset|system|technique|study|algorithm|loss)\b(?!s)|is there\b|how can\b)",
    re.IGNORECASE)


def route_kind(question: str) -> str:
    """lookup | comparative | summary | topic, from the question's wording."""
    q = question.lower()
    if re.search(r"\bsummar|\boverview of\b|\btl;?dr\b", q):
        return "summary"
    if re.search(r"^\s*(which|what) (papers|works|studies|methods)\b|\bwhat do these papers\b|\blist (the |all )?papers"
                 r"|\bpapers (that|which|on|about)\b|\bany papers\b", q):
        return "topic"
    if _LOOKUP_START.search(q):
        return "lookup"
    if re.search(r"\bdiffer\b|\bdiffer(s|ent|ence) between\b|\bcompar|\bversus\b|\bvs\.?\s|\bboth\b"
                 r"|\band\b[^,?]{0,80}\beach\b|\bsimilarit(y|ies) between\b|\bhow do .* differ", q):
        return "comparative"
    return "lookup"


@dataclass
class Event:
    """A step of a streamed answer: sources first, then text deltas, then the verified answer."""

    kind: str  # "sources" | "delta" | "answer"
    sources: list[Source] = field(default_factory=list)
    text: str = ""
    answer: Answer | None = None


class Assistant:
    """Retrieval + grounded answering over one store; one per process, shared by CLI and UI."""

    def __init__(self, settings: Settings, store: Store | None = None, embedder: MiniLMEmbedding | None = None,
                 llm=None):
        self.settings = settings
        self.prompts = load_prompts()
        self.embedder = embedder or MiniLMEmbedding(threads=settings.llm_threads, cache_dir=settings.cache_dir)
        self.store = store or open_store(settings)
        self.retriever = Retriever(self.store, self.embedder)
        self._llm = llm
        self._sentences: dict[str, tuple[list[str], np.ndarray]] = {}
        self._aspect_vectors: np.ndarray | None = None
        self._words: dict[str, set[str]] | None = None

    # -- pieces -------------------------------------------------------------------------------
    @property
    def llm(self):
        """The LLM boundary, created on first use (retrieve-only and extractive runs never start it)."""
        if self._llm is None:
            from assistant.llm import LLM

            self._llm = LLM(self.settings)
        return self._llm

    def reload(self) -> None:
        """Reopen the store and rebuild the retriever after the store changed (e.g. an upload)."""
        self.store = open_store(self.settings)
        self.retriever = Retriever(self.store, self.embedder)
        self._words = None
        known = {f"{pid}@{m.get('content_hash', '')}" for pid, m in self.retriever.papers.items()}
        for key in [k for k in self._sentences if k not in known]:
            del self._sentences[key]  # unchanged papers keep their cached sentence embeddings

    def sentences(self, paper: Source) -> tuple[list[str], np.ndarray]:
        """A paper's abstract sentences and their embeddings."""
        return self.sentences_of([paper])[0]

    def sentences_of(self, papers: list[Source]) -> list[tuple[list[str], np.ndarray]]:
        """Sentences and embeddings of several papers: from memory, else the store's cache, else embedded
        (all missing papers in one call, both cores) and saved to the store for later queries and processes."""
        # A changed abstract gets a new key, so stale vectors are never used. Results are gathered in a local
        # dict: the UI's warm-up thread may clear the shared memory cache at any moment.
        keys = [f"{p.id}@{p.metadata.get('content_hash', '')}" for p in papers]
        have = {k: v for k in dict.fromkeys(keys) if (v := self._sentences.get(k)) is not None}
        missing = [k for k in dict.fromkeys(keys) if k not in have]
        if not missing:
            return [have[k] for k in keys]
        new: dict[str, tuple[list[str], np.ndarray]] = {}
        try:
            new.update(self.store.load_sentences(missing))
        except StoreError as exc:  # a cache: an unreadable one costs time, not answers
            log.debug("sentence cache unreadable: %s", exc)
        todo = list({k: p for k, p in zip(keys, papers, strict=True) if k in missing and k not in new}.items())
        if todo:
            # Injected instructions in an abstract never reach the LLM, the evidence or the citation checks.
            sents = [evidence_sentences(p.abstract) for _, p in todo]
            vecs = self.embedder.embed([s for group in sents for s in group])
            start = 0
            for (key, _), group in zip(todo, sents, strict=True):
                new[key] = (group, vecs[start:start + len(group)])
                start += len(group)
            try:
                self.store.save_sentences([(key, paper.id, *new[key]) for key, paper in todo])
            except StoreError as exc:  # e.g. a read-only store: answers still work, only slower next time
                log.debug("sentence cache not written: %s", exc)
        if len(self._sentences) + len(new) > SENTENCE_MEMORY:
            self._sentences.clear()
        self._sentences.update(new)
        have.update(new)
        return [have[k] for k in keys]

    def warm(self, limit: int = SENTENCE_MEMORY, batch: int = 64) -> int:
        """Load (or embed once and store) the sentences of up to `limit` papers; the UI runs this in the background."""
        self._word_index()
        pids = list(self.retriever.papers)[:limit]
        for start in range(0, len(pids), batch):
            self.sentences_of([self._source(pid) for pid in pids[start:start + batch]])
        return len(pids)

    def _question_vector(self, question: str) -> np.ndarray:
        """The question's embedding; retrieval, re-rank and evidence selection of one answer share it."""
        return self.retriever.query_vector(question)

    def _citable(self, paper: Source, n: int) -> CitableSource:
        """A paper's title and sentences (embeddings from the cache) ready for citation checks."""
        sents, vecs = self.sentences(paper)
        return CitableSource.from_parts(n, paper.id, paper.title, paper.url, sents, vecs,
                                        self.embedder.embed([paper.title])[0])

    def rerank(self, question: str, sources: list[Source]) -> list[tuple[float, Source]]:
        """Re-score retrieved papers with their best-matching sentence (sharper than chunk-level similarity)."""
        qv = self._question_vector(question)
        scored = []
        for src, (sents, vecs) in zip(sources, self.sentences_of(sources), strict=True):
            best = float((vecs @ qv).max()) if sents else 0.0
            scored.append((RERANK_SENTENCE * best + src.dense + RERANK_BM25 * min(src.lexical, 20.0), src))
        return sorted(scored, key=lambda t: -t[0])

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Source]:
        """Ranked papers for a question: hybrid retrieval, the head re-ranked by best-matching sentence."""
        k = k or self.settings.k
        found = self.retriever.search(question, k=max(k, RERANK_DEPTH), filters=filters)
        if route_kind(question) == "comparative":
            # Each compared paper first (by name or per-side retrieval), then the fused order.
            named = [p for p in self.resolve_names(question) if not filters or filters.accepts(self.retriever.papers[p])]
            head = self._compared(question, named, found, filters)
            return (head + [s for s in found if s.id not in {h.id for h in head}])[:k]
        head = [src for _, src in self.rerank(question, found[:RERANK_DEPTH])]
        return (head + found[RERANK_DEPTH:])[:k]

    def _source(self, pid: str, score: float = 0.0) -> Source:
        meta = self.retriever.papers[pid]
        return Source(id=pid, title=str(meta.get("title", "")), abstract=str(meta.get("abstract", "")),
                      score=score, metadata=meta)

    def resolve_names(self, question: str) -> list[str]:
        """Paper ids the question names by acronym/short name or quoted title."""
        found: list[str] = []
        for quoted in re.findall(r"['‘\"“]([^'’\"”]{12,})['’\"”]", question):
            best = self._match_title(quoted)
            if best:
                found.append(best)
        for name in sorted(acronyms(question) | _capitalised(question), key=question.find):
            pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
            # Only papers containing every word of the name are checked (an index, not a scan of every abstract).
            postings = [self._word_index().get(w, set()) for w in re.findall(r"\w+", name.lower())]
            candidates = set.intersection(*postings) if postings else set()
            mentions = [pid for pid in self.retriever.paper_ids if pid in candidates and (
                pattern.search(str(self.retriever.papers[pid].get("title", "")))
                or pattern.search(str(self.retriever.papers[pid].get("abstract", ""))))]
            if not mentions or len(mentions) > 2:
                continue  # unknown, or a common term (e.g. "CLIP") rather than one paper's name
            heads = [pid for pid in mentions if pattern.search(str(self.retriever.papers[pid].get("title", "")))]
            found.append((heads or mentions)[0] if len(heads) <= 1 else heads[0])
        return list(dict.fromkeys(found))

    def _word_index(self) -> dict[str, set[str]]:
        """Lower-cased word -> ids of the papers whose title or abstract contains it (built on first use)."""
        if self._words is None:
            index: dict[str, set[str]] = {}
            for pid, m in self.retriever.papers.items():
                for w in set(re.findall(r"\w+", f"{m.get('title', '')} {m.get('abstract', '')}".lower())):
                    index.setdefault(w, set()).add(pid)
            self._words = index
        return self._words

    def _match_title(self, text: str) -> str | None:
        key = text.lower().strip(" .")
        best, best_r = None, 0.0
        # A quoted title is among the top BM25/dense hits for itself (titles count twice in BM25).
        for src in self.retriever.search(text, k=TITLE_CANDIDATES):
            pid, m = src.id, src.metadata
            r = difflib.SequenceMatcher(None, key, str(m.get("title", "")).lower()).ratio()
            if r > best_r:
                best, best_r = pid, r
        return best if best_r >= 0.8 else None

    def _answerable(self, top: Source) -> bool:
        if top.dense >= MIN_DENSE or top.lexical >= MIN_LEXICAL and top.dense >= MIN_DENSE_WITH_LEXICAL:
            return True
        return False

    def choose_papers(self, question: str, kind: str, filters: Filters | None) -> tuple[list[Source], list[Source]]:
        """(papers the answer is about, all retrieved papers to show) — empty first list means refuse."""
        retrieved = self.retriever.search(question, k=max(self.settings.k, 10), filters=filters)
        if not retrieved:
            return [], []
        named = [p for p in self.resolve_names(question) if not filters or filters.accepts(self.retriever.papers[p])]
        by_id = {s.id: s for s in retrieved}
        chosen: list[Source] = []
        if kind == "comparative":
            chosen = self._compared(question, named, retrieved, filters)
        elif kind == "summary":
            chosen = [by_id.get(named[0]) or self._source(named[0])] if named else retrieved[:1]
        elif kind == "topic":
            scored = self.rerank(question, retrieved[:RERANK_DEPTH])
            chosen = [src for score, src in scored if score >= TOPIC_RATIO * scored[0][0]][:TOPIC_MAX]
        else:
            if len(named) == 1:
                chosen = [by_id.get(named[0]) or self._source(named[0])]
            else:
                chosen = [self.rerank(question, retrieved[:RERANK_DEPTH])[0][1]]
        if not named and not self._answerable(retrieved[0]):
            chosen = []
        if chosen and _DETAIL.search(question) and not self._detail_present(question, chosen):
            chosen = []
        shown = chosen + [s for s in retrieved if s.id not in {c.id for c in chosen}]
        return chosen, shown[: max(self.settings.k, len(chosen))]

    def _compared(self, question: str, named: list[str], retrieved: list[Source],
                  filters: Filters | None) -> list[Source]:
        """The papers a comparison is about: named ones, then one per remaining side, then the top retrieved."""
        by_id = {s.id: s for s in retrieved}
        chosen = [by_id.get(p) or self._source(p) for p in named[:3]]
        for side in _sides(question):
            if len(chosen) >= 3:
                break
            if any(_mentions(side, c) for c in chosen):
                continue  # this side is a paper already resolved by name
            for s in self.retriever.search(side, k=3, filters=filters):
                if s.id not in {c.id for c in chosen}:
                    chosen.append(by_id.get(s.id) or s)
                    break
        for s in retrieved:
            if len(chosen) >= 2:
                break
            if s.id not in {c.id for c in chosen}:
                chosen.append(s)
        return chosen

    def _detail_present(self, question: str, papers: list[Source]) -> bool:
        names = set()
        for p in papers:
            names |= set(words(p.title.split(":")[0]))
        wanted = set(words(question)) - _GENERIC - names
        if not wanted:
            return True
        needs_number = re.match(r"\s*how (many|much|long)\b", question, re.IGNORECASE) is not None
        for p in papers:
            for sent in evidence_sentences(p.abstract):  # the texts only: no embedding or store read needed
                have = set(words(sent))
                if needs_number and not re.search(r"\d", sent):
                    continue
                if len(wanted & have) / len(wanted) >= 0.6:
                    return True
        return False

    def evidence(self, question: str, kind: str, papers: list[Source]) -> dict[str, list[str]]:
        """The abstract sentences most relevant to the question, per paper, in abstract order."""
        qv = self._question_vector(question)
        qw = set(words(question))
        out: dict[str, list[str]] = {}
        per = EVIDENCE_PER_PAPER[kind]
        for p in papers:
            sents, vecs = self.sentences(p)
            if not sents:
                out[p.id] = []
                continue
            cos = vecs @ qv
            lex = np.array([len(qw & set(words(s))) / max(len(qw), 1) for s in sents])
            score = cos + 0.5 * lex
            if kind == "summary":
                score = score + np.linspace(0.15, 0, len(sents))  # opening sentences state problem and method
            keep = sorted(np.argsort(-score)[:per])
            out[p.id] = [sents[i] for i in keep]
        return out

    def comparison_table(self, papers: list[Source], numbers: dict[str, int]) -> dict:
        """Aspects x papers; each cell an evidence phrase with its citation, or 'not stated in the abstract'."""
        if self._aspect_vectors is None:  # the aspect descriptions are fixed: embedded once
            self._aspect_vectors = self.embedder.embed(list(ASPECTS.values()))
        aspect_vecs = self._aspect_vectors
        cells = []
        per_paper = []
        for p in papers:
            per_paper.append(self.sentences(p))
        for a, aspect in enumerate(ASPECTS):
            row = []
            for p, (sents, vecs) in zip(papers, per_paper, strict=True):
                if not sents:
                    row.append({"text": NOT_STATED, "citation": None})
                    continue
                cue = np.array([0.25 if re.search(ASPECT_CUES[aspect], s, re.IGNORECASE) else 0.0 for s in sents])
                score = vecs @ aspect_vecs[a] + cue
                i = int(np.argmax(score))
                if score[i] < 0.35:
                    row.append({"text": NOT_STATED, "citation": None})
                else:
                    row.append({"text": _shorten(sents[i]), "citation": numbers[p.id]})
            cells.append(row)
        return {"aspects": list(ASPECTS), "papers": [{"id": p.id, "title": p.title, "n": numbers[p.id]}
                                                     for p in papers], "cells": cells}

    # -- answers ------------------------------------------------------------------------------
    def ask(self, question: str, **kwargs) -> Answer:
        """Answer a question completely (no streaming)."""
        answer = None
        for event in self.stream(question, **kwargs):
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, history: list[tuple[str, Answer]] | None = None, kind: str | None = None,
               filters: Filters | None = None, extractive: bool | None = None, k: int | None = None
               ) -> Iterator[Event]:
        """Sources first, then LLM text deltas, then the verified Answer."""
        t0 = time.perf_counter()
        standalone = standalone_question(question, history)
        kind = kind or route_kind(standalone)
        chosen, shown = self.choose_papers(standalone, kind, filters)
        if k:
            shown = shown[: max(k, len(chosen))]
        retrieve_ms = round((time.perf_counter() - t0) * 1000, 1)
        yield Event("sources", sources=shown)
        timings = {"retrieve_ms": retrieve_ms}
        base = Answer(question=question, text=NOT_FOUND, refused=True, kind=kind, citations=[], sources=shown,
                      standalone_question=standalone if standalone != question else "")
        if not chosen:
            base.timings = dict(timings, first_token_ms=None, total_ms=_ms(t0))
            yield Event("answer", answer=base)
            return
        numbers = {p.id: i + 1 for i, p in enumerate(chosen)}
        evidence = self.evidence(standalone, kind, chosen)
        citable = [self._citable(p, numbers[p.id]) for p in chosen]
        table = self.comparison_table(chosen, numbers) if kind == "comparative" else None
        use_llm = not (self.settings.extractive if extractive is None else extractive)
        notice = ""
        sentences: list[Sentence] = []
        first_token_ms = None
        if use_llm:
            system = self.prompts.system.format(n_sentences=SENTENCES_PER_KIND[kind], not_found=NOT_FOUND)
            blocks = [f"[{numbers[p.id]}] {p.title}\n" + " ".join(evidence[p.id]) for p in chosen]
            user = self.prompts.user.format(sources="\n\n".join(blocks), question=standalone,
                                            task=self.prompts.tasks[kind])
            text = ""
            try:
                for delta in self.llm.stream(system, user, max_tokens=MAX_TOKENS[kind]):
                    if first_token_ms is None:
                        first_token_ms = _ms(t0)
                    text += delta
                    yield Event("delta", text=delta)
                sentences = attribute(text, citable, self.embedder.embed)
                if NOT_FOUND_KEY in text.lower() and not any(s.supported for s in sentences):
                    notice = "The model said the abstracts do not answer this, but retrieval found evidence: " \
                             "showing the evidence instead."
                    sentences = []
                elif not any(s.supported for s in sentences):
                    notice = "The model's answer could not be checked against the abstracts: showing the evidence."
                    sentences = []
            except LLMError as exc:
                log.warning("LLM failed: %s", exc)
                notice = f"{exc}. This is an extractive answer built from the abstracts without an LLM."
        extractive_used = not sentences
        if extractive_used:
            sentences = self._extractive(kind, chosen, evidence, numbers, citable)
            if not notice:
                notice = "Extractive answer: sentences quoted from the abstracts, no LLM."
        sentences, citations = renumber(sentences, citable)
        if table is not None:
            remap = {c.id: c.n for c in citations}
            for p in table["papers"]:
                p["n"] = remap.get(p["id"])
            citations = _ensure_cited(citations, chosen, table)  # also renumbers the cells
        text = render(sentences, self.settings.unsupported)
        answer = Answer(question=question, text=text, refused=False, kind=kind, citations=citations, sources=shown,
                        sentences=[s for s in sentences if s.supported or self.settings.unsupported == "flag"],
                        table=table, extractive=extractive_used, notice=notice,
                        standalone_question=base.standalone_question)
        answer.timings = dict(timings, first_token_ms=first_token_ms, total_ms=_ms(t0))
        yield Event("answer", answer=answer)

    def _extractive(self, kind: str, papers: list[Source], evidence: dict[str, list[str]], numbers: dict[str, int],
                    citable: list[CitableSource]) -> list[Sentence]:
        """An answer made of the evidence sentences themselves, each cited to its own abstract."""
        out = []
        take = {"lookup": 2, "comparative": 2, "summary": 5, "topic": 1}[kind]
        for p in papers:
            for sent in evidence[p.id][:take] if kind != "summary" else evidence[p.id]:
                out.append(Sentence(sent, [numbers[p.id]], True, sent, 1.0))
        return out


def _ensure_cited(citations: list[Citation], papers: list[Source], table: dict) -> list[Citation]:
    """Comparison table columns are cited even if the prose cited only one side."""
    have = {c.id for c in citations}
    for p in papers:
        if p.id not in have:
            n = len(citations) + 1
            citations.append(Citation(n, p.id, p.title, p.url))
            for col in table["papers"]:
                if col["id"] == p.id:
                    col["n"] = n
    for row in table["cells"]:
        for cell, col in zip(row, table["papers"], strict=True):
            if cell["citation"] is not None:
                cell["citation"] = col["n"]
    return citations


def _sides(question: str) -> list[str]:
    """The things a comparative question compares, as retrieval queries."""
    q = re.sub(r"^\s*(how do|how does|what do|what does|in what way do|compare|both)\s+(the\s+)?", "", question,
               flags=re.I)
    q = re.split(r"\b(differ|each|both|compare|versus|vs\.?|are|argue|share)\b|[?.]", q, maxsplit=1)[0]
    parts = [p.strip(" ,.?") for p in re.split(r"\band\b|\bvs\.?\b|\bversus\b|,", q) if len(p.strip()) > 3]
    return parts[:3] if len(parts) >= 2 else []


def _mentions(text: str, paper: Source) -> bool:
    """True when text names the paper (its short title or an acronym that occurs in its title/abstract)."""
    head = paper.title.split(":")[0].strip().lower()
    if head and head in text.lower():
        return True
    return any(re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", paper.title + " " + paper.abstract)
               for a in acronyms(text) | _capitalised(text, skip_first=False))


_COMMON_CAPS = frozenset("Which What How Why When Where Who Is Are Do Does Can Could Both Each The A An In On For "
                         "And Or Give Summarize Summarise Provide List Compare Please Also Any Is There".split())


def _capitalised(text: str, skip_first: bool = True) -> set[str]:
    """Capitalised words (candidate names like 'Loki' or 'Hydra'), by default not the question's first word."""
    toks = re.findall(r"(?<=[\s(])[A-Z][a-z]{2,}\b" if skip_first else r"\b[A-Z][a-z]{2,}\b", text)
    return {t for t in toks if t not in _COMMON_CAPS}


def _shorten(sentence: str, limit: int = 220) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


_FOLLOW_UP = re.compile(r"^\s*(and|also|what about|how about|but)\b|\b(it|its|they|their|them|this paper|that paper|"
                        r"these papers|the paper|this method|that method|this work|the authors)\b", re.IGNORECASE)


def standalone_question(question: str, history: list[tuple[str, Answer]] | None) -> str:
    """Rewrite a follow-up ('and what are its limitations?') into a standalone question using the last answer."""
    if not history or not _FOLLOW_UP.search(question) or acronyms(question):
        return question
    last_q, last = history[-1]
    titles = [c.title.split(":")[0] for c in last.citations][:3]
    if not titles:
        return question
    subject = " and ".join(f"'{t}'" if len(t) > 25 else t for t in titles)
    q = re.sub(r"^\s*(and|also|but)\s+", "", question, flags=re.IGNORECASE)
    q = re.sub(r"\b(this paper|that paper|the paper|this method|that method|this work)\b", subject, q, flags=re.I)
    q = re.sub(r"\b(its|their)\b", f"{subject}'s", q, count=1, flags=re.IGNORECASE)
    q = re.sub(r"\b(it|they|them)\b", subject, q, count=1, flags=re.IGNORECASE)
    return q if q != question else f"{question} (about {subject})"
