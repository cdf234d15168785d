"""Phrase: the LLM writes the answer from the selected evidence sentences only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from assistant.kinds import get_kind
from assistant.prompts import NOT_FOUND, Prompts
from assistant.records import Source


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


def phrase(llm: TextModel, system: str, user: str, kind: str) -> Iterator[str]:
    """The LLM's text deltas for one answer."""
    yield from llm.stream(system, user, max_tokens=get_kind(kind).max_tokens)
