"""JSONL input files (questions, claims), shared by `ask --batch`, `verify --batch` and `eval --questions`."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import PaperchatError


def read_question_lines(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line number, object) for each good line, and `file:line: what is wrong` for each bad one."""
    rows, problems = read_jsonl(path)
    good = []
    for n, obj in rows:
        if not isinstance(obj.get("question"), str) or not obj["question"].strip():
            problems.append(f"{path}:{n}: expected an object with a non-empty \"question\"")
        else:
            good.append((n, obj))
    return good, sorted(problems, key=lambda p: int(p.split(":")[-2]) if p.split(":")[-2].isdigit() else 0)


def read_jsonl(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line number, object) for each JSON-object line, and `file:line: what is wrong` for each other one."""
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
        if not isinstance(obj, dict):
            problems.append(f"{path}:{n}: expected a JSON object")
            continue
        rows.append((n, obj))
    return rows, problems
