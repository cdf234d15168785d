"""Prompt files under prompts/, loaded and checked at start-up; the one 'not found' sentinel."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError
from assistant.kinds import KINDS

# The single refusal sentinel: used by the prompt, the answer code, the UI and the tests.
NOT_FOUND = "The answer is not in these abstracts."
NOT_FOUND_KEY = "not in these abstracts"
PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"
_EXPECTED = {
    # Identical for every question (the server keeps it as a cached prefix). No "not found" option: selection
    # refuses from calibrated evidence, and an LLM refusal only ever swapped in the verified draft (on 8 dev
    # questions the embedded 1.5B model wrote it for 5 answerable ones whose source stated the answer).
    "answer_system.txt": set(),
    "answer_user.txt": {"sources", "question", "task", "n_sentences"},
}


@dataclass(frozen=True)
class Prompts:
    """The loaded, validated prompt texts."""

    system: str
    user: str
    tasks: dict[str, str]  # kind -> task instruction


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _read(path: Path, expected: set[str]) -> str:
    if not path.is_file():
        raise ConfigError(f"prompt file {path} is missing")
    text = path.read_text(encoding="utf-8")
    try:
        found = _fields(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: broken placeholder: {exc}") from exc
    if found != expected:
        raise ConfigError(f"{path}: placeholders {sorted(found)} but expected {sorted(expected)}")
    return text


def load_prompts(directory: Path = PROMPT_DIR) -> Prompts:
    """Read the prompt files (one task file per registered kind) and check their placeholders at start-up."""
    texts = {name: _read(directory / name, expected) for name, expected in _EXPECTED.items()}
    tasks = {kind: _read(directory / "tasks" / f"{kind}.txt", set()).strip() for kind in KINDS}
    return Prompts(system=texts["answer_system.txt"], user=texts["answer_user.txt"], tasks=tasks)
