"""Question files (JSONL with a "question" field), shared by `ask --batch` and `eval --questions`."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import PaperchatError


def read_question_lines(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line number, object) for each good line, and `file:line: what is wrong` for each bad one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PaperchatError(f"{path}: cannot read the question file: {exc}") from exc
    rows, problems = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: invalid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"].strip():
            problems.append(f"{path}:{n}: expected an object with a non-empty \"question\"")
            continue
        rows.append((n, obj))
    return rows, problems
