"""The assistant service: ask / stream / retrieve over one store. CLI, UI, evaluation and MCP call this."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from assistant.answering.answer import Answerer, Event
from assistant.answering.verification import Judge
from assistant.embed import DIMENSION, MODEL_NAME, MiniLMEmbedding
from assistant.errors import PaperchatError
from assistant.prompts import load_prompts
from assistant.records import Answer, ClaimCheck, Filters, Source, StoredPaper
from assistant.retrieval.hybrid import Library
from assistant.retrieval.sentences import SentenceCache
from assistant.settings import Settings
from assistant.store import Store, open_store
from assistant.verify import Verifier

__all__ = ["Assistant", "Event"]


def make_judge(settings: Settings, embedder: MiniLMEmbedding) -> Judge:
    """The claim judge answers and `verify` use: our entailment verifier (the resemblance check is the baseline
    `eval --verify` prints beside it), loaded on its first judgement so `--retrieve-only` never pays for it."""
    return _Lazy(lambda: Verifier(threads=settings.llm_threads))


class _Lazy:
    """A judge created on first use (thread-safe)."""

    def __init__(self, make: Callable[[], Judge]):
        self._make, self._judge, self._lock = make, None, threading.Lock()

    def judge_many(self, items):
        with self._lock:
            if self._judge is None:
                self._judge = self._make()
        return self._judge.judge_many(items)


def _open(settings: Settings) -> Store:
    return open_store(settings, MODEL_NAME, DIMENSION)


class Assistant:
    """Retrieval + grounded answering over one store; one per process, shared by CLI and UI."""

    def __init__(self, settings: Settings, store: Store | None = None, embedder: MiniLMEmbedding | None = None,
                 llm=None, judge: Judge | None = None):
        self.settings = settings
        self.prompts = load_prompts()  # a broken prompt file fails here, at start-up
        self.embedder = embedder or MiniLMEmbedding(threads=settings.llm_threads, cache_dir=settings.cache_dir)
        self.store = store or _open(settings)
        self._llm = llm  # a TextModel; the embedded one is created (and its server started) on first use
        self._llm_lock = threading.Lock()
        self._sentences = SentenceCache(self.store, self.embedder.embed)
        self.judge = judge or make_judge(settings, self.embedder)
        self._build()

    def _build(self) -> None:
        self.library = Library(self.store, self.embedder.embed, self._sentences)
        self.answerer = Answerer(self.library, self.prompts, self.llm, self.judge, self.settings.unsupported)

    # -- pieces ----------------------------------------------------------------------------------------------
    def llm(self):
        """The LLM boundary, created on first use (retrieve-only and extractive runs never start it)."""
        with self._llm_lock:
            if self._llm is None:
                from assistant.llm import LLM  # the openai SDK is imported only by runs that phrase with an LLM

                self._llm = LLM(self.settings)
            return self._llm

    @property
    def llm_label(self) -> str:
        """What the UI names as the answering model (without starting it)."""
        return self.llm().label  # naming the model does not start the embedded server

    @property
    def embedder_name(self) -> str:
        return MODEL_NAME

    def prewarm(self) -> None:
        """Start the embedded LLM in the background (model load overlaps retrieval) unless answers are extractive."""
        if not self.settings.extractive:
            from assistant.answering.phrase import system_prompt

            self.llm().prewarm(system_prompt(self.prompts))

    def close(self) -> None:
        """Stop the embedded LLM server, if one was started."""
        if self._llm is not None:
            self._llm.close()

    def reload(self) -> None:
        """Re-read the store after it changed (an upload); unchanged papers keep their cached sentence vectors."""
        self.store = _open(self.settings)
        self._sentences.rebind(self.store)  # unchanged papers keep their vectors (Library drops the others)
        self._build()

    def warm(self) -> int:
        """Sentence vectors of the papers, loaded or embedded once (the UI runs this in the background)."""
        return self.library.warm()

    def __len__(self) -> int:
        return len(self.library)

    # -- questions -------------------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[tuple[str, Answer]] = (), kind: str | None = None,
               filters: Filters | None = None, extractive: bool | None = None, k: int | None = None
               ) -> Iterator[Event]:
        """Sources first, then a verified draft, then LLM text deltas, then the verified Answer."""
        use_llm = not (self.settings.extractive if extractive is None else extractive)
        return self.answerer.stream(question, history or (), kind, filters, use_llm, k or self.settings.k)

    def ask(self, question: str, **kwargs) -> Answer:
        """Answer a question completely (no streaming)."""
        answer = None
        for event in self.stream(question, **kwargs):
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None,
                 kind: str | None = None, history: Sequence[tuple[str, Answer]] = ()) -> list[Source]:
        """The sources an answer would show, in the same order (one ranking for CLI, eval and answers)."""
        u = self.answerer.understand(question, history, kind)
        _, sel = self.answerer.select(u, k or self.settings.k, filters)
        return list(sel.shown)

    def check_claim(self, claim: str, paper_ids: Sequence[str] | None = None, k: int | None = None) -> ClaimCheck:
        """`paperchat verify`: the claim judged against each given paper (or the top-k retrieved ones)."""
        if paper_ids:
            unknown = [p for p in paper_ids if p not in self.library.papers]
            if unknown:
                raise PaperchatError(f"paper {unknown[0]!r} is not in the store — see the ids with: paperchat stats "
                                     f"(or the Corpus tab)")
            sources = [self.library.source(p) for p in dict.fromkeys(paper_ids)]
        else:
            sources = self.retrieve(claim, k=k or self.settings.k, kind="lookup")
        premises = self.library.sentences.get([s.paper for s in sources])
        verdicts = self.judge.judge_many([(claim, sents) for sents, _ in premises])
        return ClaimCheck(claim, tuple(zip(sources, verdicts, strict=True)))

    # -- corpus ----------------------------------------------------------------------------------------------
    def add_files(self, paths: list[Path], skip_invalid: bool = False,
                  progress: Callable[[int, int], None] | None = None):
        """Ingest files into this store and reload when anything changed; returns the IngestReport."""
        from assistant.corpus import ingest_paths  # parsers load only when files are added

        report = ingest_paths(paths, self.settings, skip_invalid=skip_invalid, progress=progress,
                              embedder=self.embedder)
        if report.added or report.updated:
            self.reload()
        return report

    def list_papers(self, query: str = "", limit: int = 500) -> list[StoredPaper]:
        """Papers whose title or id contains `query`, sorted by title (from the index: only those shown are read)."""
        return self.library.catalog(query or "", limit)
