"""Prompt files under prompts/, loaded and checked at start-up; the one 'not found' sentinel."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError

# The single refusal sentinel: used by the prompt, the answer code, the UI and the tests.
NOT_FOUND = "The answer is not in these abstracts."
NOT_FOUND_KEY = "not in these abstracts"
PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"
KINDS = ("lookup", "comparative", "summary", "topic")
_EXPECTED = {
    "answer_system.txt": {"n_sentences", "not_found"},
    "answer_user.txt": {"sources", "question", "task"},
}


@dataclass(frozen=True)
class Prompts:
    """The loaded, validated prompt texts."""

    system: str
    user: str
    tasks: dict[str, str]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def load_prompts(directory: Path = PROMPT_DIR) -> Prompts:
    """Read the prompt files and check their placeholders, so a broken template fails at start-up."""
    texts = {}
    for name, expected in _EXPECTED.items():
        path = directory / name
        if not path.is_file():
            raise ConfigError(f"prompt file {path} is missing")
        text = path.read_text(encoding="utf-8")
        try:
            found = _fields(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: broken placeholder: {exc}") from exc
        if found != expected:
            raise ConfigError(f"{path}: placeholders {sorted(found)} but expected {sorted(expected)}")
        texts[name] = text
    tasks = {}
    task_path = directory / "tasks.txt"
    for lineno, line in enumerate(task_path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            kind, sep, task = line.partition(":")
            if not sep or kind.strip() not in KINDS:
                raise ConfigError(f"{task_path}:{lineno}: expected 'KIND: task' with KIND one of {KINDS}")
            tasks[kind.strip()] = task.strip()
    missing = set(KINDS) - set(tasks)
    if missing:
        raise ConfigError(f"{task_path}: no task for {sorted(missing)}")
    return Prompts(system=texts["answer_system.txt"], user=texts["answer_user.txt"], tasks=tasks)
