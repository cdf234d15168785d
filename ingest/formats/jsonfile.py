"""JSON Lines (one object per line) and JSON (a list, a wrapper object or one object) to Paper records."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from assistant.records import Paper
from ingest.formats.mapping import lower_keys, paper_from_mapping
from ingest.text import shorten
from ingest.textfile import NOT_UTF8, problem, read_all, read_lines

_JSON_WS = re.compile(r"[ \t\r\n]*")
_LIST_KEYS = ("papers", "data", "results", "items", "entries", "records", "dailypapers")


def json_loads(text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, error message); deep nesting and huge numbers are errors, not crashes."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "nested too deeply"
    except json.JSONDecodeError as exc:
        return None, exc.msg + (f" at column {exc.colno}" if exc.lineno == 1 else " at the end of the line")
    except ValueError as exc:  # int-too-long: Python refuses numbers over 4,300 digits
        return None, shorten(str(exc), 120)


def iter_jsonl(path: Path) -> Iterator[Paper | str]:
    """A Paper or a problem line per non-blank line."""
    for number, text, ok in read_lines(path):
        if not ok:
            yield problem(path, number, NOT_UTF8)
            continue
        if not text.strip():
            continue
        value, error = json_loads(text)
        if error is not None:
            yield problem(path, number, f"invalid JSON: {error}")
        elif not isinstance(value, Mapping):
            yield problem(path, number, f"expected a JSON object per line, got {type(value).__name__}")
        else:
            yield paper_from_mapping(value, path, number)


class _LineCounter:
    """Line number of increasing offsets into one text, in O(text) total."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.pos:  # rare (out-of-order lookups): recount from the start
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.line


def iter_json(path: Path) -> Iterator[Paper | str]:
    """Papers from a JSON document: a list of objects, an object wrapping such a list, or one object."""
    text, bad = read_all(path)
    for number in bad:
        yield problem(path, number, NOT_UTF8)
    if bad:
        return  # a JSON document with broken bytes is unreliable as a whole; the problems say where
    pos = _JSON_WS.match(text).end()
    if pos == len(text):
        return
    lines = _LineCounter(text)
    if text[pos] == "[":
        yield from _iter_array(path, text, pos, lines)
        return
    try:
        value, end = json.JSONDecoder().raw_decode(text, pos)
    except RecursionError:
        yield problem(path, 1, "invalid JSON: nested too deeply")
        return
    except ValueError as exc:
        yield problem(path, getattr(exc, "lineno", 1), f"invalid JSON: {getattr(exc, 'msg', exc)}")
        return
    if _JSON_WS.match(text, end).end() != len(text) and isinstance(value, Mapping):
        yield from iter_jsonl(path)  # several objects one after another: it is really JSON Lines
    elif not isinstance(value, Mapping):
        yield problem(path, 1, f"expected a JSON list of objects, got {type(value).__name__}")
    else:
        yield from _iter_wrapper(path, value, lines.at(pos))


def _iter_wrapper(path: Path, value: Mapping, line: int) -> Iterator[Paper | str]:
    """The papers listed under a wrapper key ("papers", "data", ...), else the object as one paper."""
    low = lower_keys(value)
    listed = next((low[k] for k in _LIST_KEYS if isinstance(low.get(k), list)), None)
    if listed is None:
        yield paper_from_mapping(value, path, line)
        return
    for i, item in enumerate(listed, start=1):
        where = f"entry {i}"
        if isinstance(item, Mapping):
            yield paper_from_mapping(item, path, 1, where)
        else:
            yield problem(path, 1, f"{where} is not an object but {type(item).__name__}")


def _iter_array(path: Path, text: str, pos: int, lines: _LineCounter) -> Iterator[Paper | str]:
    """Decode a top-level array one element at a time, so each record knows the line it starts on."""
    decoder = json.JSONDecoder()
    pos = _JSON_WS.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    index = 0
    while True:
        index += 1
        line = lines.at(pos)
        try:
            value, pos = decoder.raw_decode(text, pos)
        except RecursionError:
            yield problem(path, line, f"invalid JSON: entry {index} is nested too deeply")
            return
        except ValueError as exc:
            yield problem(path, lines.at(getattr(exc, "pos", pos)), f"invalid JSON: {getattr(exc, 'msg', exc)}")
            return
        if isinstance(value, Mapping):
            yield paper_from_mapping(value, path, line, f"entry {index}")
        else:
            yield problem(path, line, f"entry {index} is not an object but {type(value).__name__}")
        pos = _JSON_WS.match(text, pos).end()
        if text.startswith(",", pos):
            pos = _JSON_WS.match(text, pos + 1).end()
            continue
        if text.startswith("]", pos) and _JSON_WS.match(text, pos + 1).end() != len(text):
            yield problem(path, lines.at(pos + 1), "invalid JSON: extra data after the list")
        elif not text.startswith("]", pos):
            yield problem(path, lines.at(pos), "invalid JSON: expected ',' or ']' after an entry")
        return
