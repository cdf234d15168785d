"""The conversation as a Markdown file and its cited papers as BibTeX, written for the download buttons."""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path

from assistant.records import Answer, StoredPaper
from ui.render import answer_markdown, esc_md, safe_url, year


def conversation_markdown(history: list[tuple[str, Answer]]) -> str:
    """The whole conversation as a Markdown document, each answer with its numbered references."""
    lines = ["# paperchat conversation", "", f"*Exported {datetime.now():%Y-%m-%d %H:%M}.*", ""]
    for i, (question, answer) in enumerate(history, 1):
        lines += [f"## Q{i}. {esc_md(question)}", "", answer_markdown(answer, None), ""]
    if not history:
        lines.append("*No questions asked yet.*")
    return "\n".join(lines).rstrip() + "\n"


def bibtex(history: list[tuple[str, Answer]]) -> str:
    """@misc entries for every paper cited in the conversation, each once."""
    entries: dict[str, str] = {}
    for _, answer in history:
        by_id = {s.id: s for s in answer.sources}
        for c in answer.citations:
            if c.id in entries:
                continue
            src = by_id.get(c.id)
            paper = src.paper if src else StoredPaper(c.id, c.title, "")
            fields = [("title", c.title),
                      ("author", " and ".join(paper.authors)),
                      ("year", year(paper.published_text)),
                      ("url", safe_url(c.url))]
            body = ",\n".join(f"  {k} = {{{_bib(v)}}}" for k, v in fields if v)
            entries[c.id] = f"@misc{{{_bib_key(c.id)},\n{body}\n}}"
    if not entries:
        return "% No papers cited yet.\n"
    return "\n\n".join(entries.values()) + "\n"


class ExportFolder:
    """One temp folder per app for the exports, removed at exit (not one new folder per answer)."""

    def __init__(self):
        self._root: Path | None = None
        self._lock = threading.Lock()

    def write(self, history: list[tuple[str, Answer]]) -> tuple[str, str]:
        """Write the conversation (Markdown) and its cited papers (BibTeX); same content, same files."""
        markdown, bib = conversation_markdown(history), bibtex(history)
        folder = self._folder() / hashlib.sha256((markdown + bib).encode()).hexdigest()[:16]
        folder.mkdir(exist_ok=True)
        md_path = folder / "paperchat-conversation.md"
        bib_path = folder / "paperchat-references.bib"
        md_path.write_text(markdown, encoding="utf-8")
        bib_path.write_text(bib, encoding="utf-8")
        return str(md_path), str(bib_path)

    def _folder(self) -> Path:
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="paperchat-export-"))
                atexit.register(shutil.rmtree, self._root, True)
            return self._root


def _bib(value: str) -> str:
    value = " ".join(str(value).replace("\\", " ").replace("{", "").replace("}", "").split())
    return re.sub(r"([&%$#_])", r"\\\1", value)


def _bib_key(pid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]+", "_", pid) or "paper"
