"""Answers, sources and exports as Markdown/HTML/BibTeX; pure functions, no Gradio.

Every title, abstract and author string comes from files users upload, so all of it is escaped here:
HTML-escaped (inert in the browser) and Markdown-escaped (no accidental links, emphasis or tables).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime

from assistant.prompts import NOT_FOUND
from assistant.records import NOT_STATED, Answer, Citation, Source, StoredPaper, Table

DEFAULT_EXTRACTIVE_NOTICE = "Extractive answer: sentences quoted from the abstracts, no LLM."
# Inline Markdown syntax; "<", ">" and "&" are entity-escaped instead (a backslash before "&lt;" would print
# the entity itself). Text is collapsed to one line, so block syntax can only start at its first character.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
_MD_LINE_START = re.compile(r"^(\d+)([.)])|^([#+-])")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'()\\]+$", re.IGNORECASE)


# -- escaping -------------------------------------------------------------------------------------
def esc_md(text: str) -> str:
    """Text shown literally inside Markdown: Markdown syntax backslash-escaped, HTML entity-escaped."""
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    text = _MD_LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", text)
    return html.escape(text, quote=False)


def safe_url(url: str) -> str:
    """The url if it is a plain http(s) link, else '' (no javascript: or data: links from uploaded files)."""
    url = str(url or "").strip()
    return url if _SAFE_URL.match(url) else ""


def anchor(turn: int, n: int) -> str:
    """The id of the source card for citation [n] of answer number `turn` (1-based)."""
    return f"src-{turn}-{n}"


def short_title(title: str) -> str:
    """The part of a title before ':' (the method's name), for table headers."""
    head = title.split(":")[0].strip()
    return head if 2 <= len(head) <= 40 else (title[:40].rsplit(" ", 1)[0] + "…" if len(title) > 40 else title)


def _marks(numbers: Iterable[int], turn: int | None) -> str:
    """[1][2] markers; links to the source cards when turn is given, plain text otherwise (exports)."""
    if turn is None:
        return "".join(f"\\[{n}\\]" for n in numbers)
    return "".join(f"[\\[{n}\\]](#{anchor(turn, n)})" for n in numbers)


# -- chat messages ------------------------------------------------------------------------------
def sources_step(sources: list[Source]) -> str:
    """Body of the collapsible 'Retrieved N papers' step: one line per retrieved title."""
    if not sources:
        return "No paper in the store matches (check the filters in the Corpus tab)."
    lines = []
    for i, s in enumerate(sources, 1):
        meta = ", ".join(x for x in (_first_author(s.paper.authors), _year(s.paper.published_text)) if x)
        lines.append(f"{i}\\. {esc_md(s.title)}" + (f" — {esc_md(meta)}" if meta else ""))
    return "\n".join(lines)


def streaming_text(raw: str) -> str:
    """The LLM's raw text while it streams, shown literally with a cursor."""
    return (esc_md(raw) if raw.strip() else "*Writing the answer…*") + " ▍"


def answer_markdown(answer: Answer, turn: int | None) -> str:
    """The verified answer: cited sentences, flagged unsupported ones, table, references.

    With turn=None the markers are plain text (for the exported file), otherwise links to the source cards.
    """
    if answer.refused:
        shown = len(answer.sources)
        hint = (f"None of the {shown} retrieved paper(s) supports an answer; they are listed in the sources panel."
                if shown else "No paper in the store matches (check the filters in the Corpus tab).")
        return f"⊘ **Not found** — {esc_md(NOT_FOUND)}\n\n*{esc_md(hint)}*"
    parts: list[str] = []
    if answer.extractive:
        notice = answer.notice or DEFAULT_EXTRACTIVE_NOTICE
        label = "Extractive answer" if notice == DEFAULT_EXTRACTIVE_NOTICE else "Extractive answer (fallback)"
        detail = "sentences quoted from the abstracts, no LLM." if notice == DEFAULT_EXTRACTIVE_NOTICE else notice
        parts.append(f"**{label}** — *{esc_md(detail)}*")
    elif answer.notice:
        parts.append(f"ℹ *{esc_md(answer.notice)}*")
    if answer.standalone_question:
        parts.append(f"*Read as: {esc_md(answer.standalone_question)}*")
    parts.append(_body(answer, turn))
    if answer.table:
        parts.append(table_markdown(answer.table, turn))
    if answer.citations:
        parts.append(references_markdown(answer.citations, answer.sources, turn))
    return "\n\n".join(p for p in parts if p)


def _body(answer: Answer, turn: int | None) -> str:
    if not answer.sentences:
        return esc_md(answer.text)
    out = []
    for s in answer.sentences:
        text = " ".join(s.text.split())
        if not s.supported:
            out.append(f"⚠ ~~{esc_md(text)}~~ *(unsupported: no abstract backs this sentence)*")
            continue
        end = text[-1] if text and text[-1] in ".!?" else ""
        core = text[:-1] if end else text
        out.append(f"{esc_md(core)} {_marks(s.citations, turn)}{esc_md(end)}")
    return " ".join(out)


def table_markdown(table: Table, turn: int | None) -> str:
    """The comparison table (aspects x papers) as a Markdown table with cited cells."""
    head = ["aspect"] + [(_marks([c.n], turn) + " " if c.n else "") + esc_md(short_title(c.title))
                         for c in table.papers]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for aspect, cells in zip(table.aspects, table.cells, strict=True):
        shown = []
        for cell in cells:
            if cell.citation is None or cell.text == NOT_STATED:
                shown.append(f"*{esc_md(cell.text)}*")
            else:
                shown.append(f"{esc_md(cell.text)} {_marks([cell.citation], turn)}")
        rows.append("| " + " | ".join([f"**{esc_md(aspect)}**"] + shown) + " |")
    return "\n".join(rows)


def references_markdown(citations: list[Citation], sources: list[Source], turn: int | None) -> str:
    """Numbered reference list; titles link to the paper's url when it is a plain http(s) link."""
    meta = {s.id: s for s in sources}
    lines = ["**References**", ""]
    for c in citations:
        url = safe_url(c.url)
        title = f"[{esc_md(c.title)}]({url})" if url else esc_md(c.title)
        src = meta.get(c.id)
        extra = ""
        if src is not None:
            bits = [x for x in (_authors_short(src.paper.authors), _year(src.paper.published_text)) if x]
            extra = f" — {esc_md(', '.join(bits))}" if bits else ""
        lines.append(f"- {_marks([c.n], turn)} {title}{extra}")
    return "\n".join(lines)


# -- sources panel -----------------------------------------------------------------------------
def sources_panel(turns: list[tuple[int, Answer]], pending: list[Source] | None = None) -> str:
    """HTML of the sources panel: the latest answer's cited papers as cards, its other retrieved papers
    collapsed below, earlier answers' cards collapsed at the end. `pending` = sources of an answer in progress."""
    parts = ['<div class="pc-sources">']
    if pending is not None:
        parts.append(f'<p class="pc-muted">Retrieved {len(pending)} paper(s); answering…</p>')
        parts += [_card(s, None, None, []) for s in pending]
    elif not turns:
        parts.append('<p class="pc-muted">Ask a question: the papers an answer cites appear here, with the '
                     'sentences that support it highlighted.</p>')
    latest = turns[-1:] if pending is None else []
    for turn, answer in latest:
        parts.append(_turn_cards(turn, answer))
    earlier = turns[:-1] if pending is None else turns
    if earlier:
        parts.append(f'<details class="pc-earlier"><summary>Earlier answers ({len(earlier)})</summary>')
        for turn, answer in reversed(earlier):
            parts.append(f'<div class="pc-turn"><p class="pc-q">Q{turn}: {html.escape(answer.question)}</p>')
            parts.append(_turn_cards(turn, answer, others=False))
            parts.append("</div>")
        parts.append("</details>")
    parts.append("</div>")
    return "\n".join(parts)


def _turn_cards(turn: int, answer: Answer, others: bool = True) -> str:
    by_id = {s.id: s for s in answer.sources}
    cited = {c.id for c in answer.citations}
    out = []
    if answer.refused:
        out.append('<p class="pc-refused">⊘ No retrieved abstract answers this question.</p>')
    for c in answer.citations:
        src = by_id.get(c.id) or Source(StoredPaper(id=c.id, title=c.title, abstract="", url=c.url), 0.0)
        out.append(_card(src, turn, c.n, _evidence_for(answer, c.n)))
    rest = [s for s in answer.sources if s.id not in cited]
    if others and rest:
        open_attr = " open" if answer.refused else ""
        out.append(f'<details class="pc-others"{open_attr}><summary>Retrieved but not cited ({len(rest)})</summary>')
        out += [_card(s, None, None, []) for s in rest]
        out.append("</details>")
    return "\n".join(out)


def _evidence_for(answer: Answer, n: int) -> list[str]:
    """Abstract sentences that support answer text citing [n] (prose sentences and table cells)."""
    found = [s.evidence for s in answer.sentences if s.supported and n in s.citations and s.evidence]
    for row in answer.table.cells if answer.table else ():
        for cell in row:
            if cell.citation == n and cell.text != NOT_STATED:
                found.append(cell.text.rstrip("…").strip())
    return found


def _card(src: Source, turn: int | None, n: int | None, evidence: list[str]) -> str:
    paper = src.paper
    url = safe_url(src.url)
    title = html.escape(src.title)
    if url:
        title = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    badge = f'<span class="pc-n">[{n}]</span> ' if n is not None else ""
    ident = f' id="{anchor(turn, n)}"' if turn is not None and n is not None else ""
    info = [x for x in (", ".join(paper.authors), paper.published_text) if x]
    tags = ", ".join(paper.categories)
    lines = [f'<div class="pc-card{" pc-cited" if n is not None else ""}"{ident}>',
             f'<div class="pc-title">{badge}{title}</div>']
    if info:
        lines.append(f'<div class="pc-meta">{html.escape(" · ".join(info))}</div>')
    if tags:
        lines.append(f'<div class="pc-meta pc-tags">{html.escape(tags)}</div>')
    if src.abstract:
        body = highlight(src.abstract, evidence)
        if n is None:
            lines.append(f'<details class="pc-abs"><summary>Abstract</summary><p>{body}</p></details>')
        else:
            lines.append(f'<p class="pc-abstract">{body}</p>')
    lines.append(f'<div class="pc-id">{html.escape(src.id)}</div></div>')
    return "\n".join(lines)


def highlight(abstract: str, spans: list[str]) -> str:
    """The escaped abstract with every evidence span found in it wrapped in <mark>."""
    ranges: list[tuple[int, int]] = []
    for span in spans:
        span = " ".join(span.split())
        if len(span) < 8:
            continue
        start = abstract.find(span)
        if start < 0:
            start = abstract.find(span[:80])
            span = span[:80] if start >= 0 else span
        if start >= 0:
            ranges.append((start, start + len(span)))
    merged: list[list[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(html.escape(abstract[pos:a]))
        out.append(f"<mark>{html.escape(abstract[a:b])}</mark>")
        pos = b
    out.append(html.escape(abstract[pos:]))
    return "".join(out)


# -- status, exports ---------------------------------------------------------------------------
def status_markdown(llm_label: str, extractive: bool, embedder: str, store: str, papers: int) -> str:
    """The one-line status: LLM, embedder, store location and paper count."""
    mode = " (extractive answers by default)" if extractive else ""
    return (f"**LLM:** {esc_md(llm_label)}{mode} · **Embedder:** {esc_md(embedder)} · **Store:** {esc_md(store)} · "
            f"**Papers:** {papers}")


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
                      ("year", _year(paper.published_text)),
                      ("url", safe_url(c.url))]
            body = ",\n".join(f"  {k} = {{{_bib(v)}}}" for k, v in fields if v)
            entries[c.id] = f"@misc{{{_bib_key(c.id)},\n{body}\n}}"
    if not entries:
        return "% No papers cited yet.\n"
    return "\n\n".join(entries.values()) + "\n"


def _bib(value: str) -> str:
    value = " ".join(str(value).replace("\\", " ").replace("{", "").replace("}", "").split())
    return re.sub(r"([&%$#_])", r"\\\1", value)


def _bib_key(pid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]+", "_", pid) or "paper"


def _year(published) -> str:
    text = str(published or "")
    return text[:4] if text[:4].isdigit() else ""


def _first_author(names: tuple[str, ...]) -> str:
    return names[0] + (" et al." if len(names) > 1 else "") if names else ""


def _authors_short(names: tuple[str, ...]) -> str:
    return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")
