"""Phrase: the LLM writes the answer from the selected evidence sentences only."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Protocol

from assistant.kinds import get_kind
from assistant.prompts import NOT_FOUND, Prompts
from assistant.records import Source

ECHO_CHARS = 24  # characters of a source's title that mark a line as the sources block copied back


class TextModel(Protocol):
    """What the answer path needs of an LLM (assistant.llm.LLM, or a scripted stand-in in tests)."""

    label: str

    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]: ...

    def close(self) -> None: ...


def messages(prompts: Prompts, kind: str, question: str, papers: list[Source], numbers: dict[str, int],
             evidence: dict[str, list[str]]) -> tuple[str, str]:
    """(system, user) prompts: the system prompt depends on the kind only, so it stays a cacheable prefix."""
    system = system_prompt(prompts)
    blocks = [f"[{numbers[p.id]}] {p.title}\n" + " ".join(evidence[p.id]) for p in papers]
    user = prompts.user.format(sources="\n\n".join(blocks), question=question, task=prompts.tasks[kind],
                               n_sentences=get_kind(kind).sentences)
    return system, user


def system_prompt(prompts: Prompts) -> str:
    """The system prompt: byte-identical for every question, so the embedded server reuses its KV cache (first
    token 0.84x in scripts/bench_llm.py)."""
    return prompts.system.format(not_found=NOT_FOUND)


def phrase(llm: TextModel, system: str, user: str, kind: str, titles: Mapping[int, str] | None = None
           ) -> Iterator[str]:
    """The LLM's text deltas for one answer, ended where the model starts copying the sources block back.

    The embedded model sometimes follows its answer with "[1] <title of source 1>" and that source's evidence: on
    dev question d-022 it wrote 220 tokens (the whole budget, 17.8 s) where the answer took 70. Closing the stream
    there stops the server. Only a line opening with a source's own number and title counts, so an answer written
    as "[1] proposes ..." lines is kept whole."""
    heads = {n: t[:ECHO_CHARS] for n, t in (titles or {}).items()}
    echo = re.compile("|".join(rf"\n\s*\[{n}\]\s*{re.escape(h)}" for n, h in heads.items()) or r"(?!)",
                      re.IGNORECASE)
    longest = max(map(len, heads.values()), default=0) + 8
    pending = ""
    stream = llm.stream(system, user, max_tokens=get_kind(kind).max_tokens)
    try:
        for delta in stream:
            pending += delta
            cut = echo.search(pending)
            if cut:
                pending = pending[:cut.start()]
                break
            line = pending.rfind("\n")  # a new line may open an echo: hold it back until it is long enough
            keep = line if line >= 0 and len(pending) - line < longest else len(pending)
            if keep:
                yield pending[:keep]
                pending = pending[keep:]
    finally:
        getattr(stream, "close", lambda: None)()  # an HTTP stream closed early stops the server's generation
    if pending:
        yield pending
