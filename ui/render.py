"""Answers, verdict marks and sources as Markdown/HTML; pure functions, no Gradio.

Every title, abstract and author string comes from files users upload, so all of it is escaped here:
HTML-escaped (inert in the browser) and Markdown-escaped (no accidental links, emphasis or tables).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from assistant.prompts import NOT_FOUND
from assistant.records import NOT_STATED, Answer, Citation, Sentence, Source, Table

DEFAULT_EXTRACTIVE_NOTICE = "Extractive answer: sentences quoted from the abstracts, no LLM."
DRAFT_LABEL = "Verified extracts"
DRAFT_DETAIL = "the model is writing…"
DRAFT_KEPT = "shown until the model's answer is complete and checked"
CHECKED_LABEL = "The model's answer"
CHECKED_DETAIL = "each sentence checked as soon as it is written…"
# verdict -> (mark, what the mark says); the verifier's labels, as in records.Sentence.verdict and Cell.verdict.
VERDICTS = {"supported": ("✓", "Verified"), "not_enough_info": ("?", "Unverified"),
            "contradicted": ("✗", "Contradicted")}
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
        meta = ", ".join(x for x in (_first_author(s.paper.authors), year(s.paper.published_text)) if x)
        lines.append(f"{i}\\. {esc_md(s.title)}" + (f" — {esc_md(meta)}" if meta else ""))
    return "\n".join(lines)


def streaming_text(raw: str) -> str:
    """The LLM's raw text while it streams, shown literally with a cursor."""
    return (esc_md(raw) if raw.strip() else "*Writing the answer…*") + " ▍"


def draft_markdown(draft: Answer, turn: int, checked: list[Sentence] | tuple = ()) -> str:
    """While the LLM writes: its sentences verified so far (if any), then the verified extractive draft.

    The LLM's unfinished, unchecked text is never shown; the draft stays until the final answer replaces both.
    Streamed sentences are numbered before the answer's final renumbering, so their markers are not links.
    """
    if not checked:
        return f"**{DRAFT_LABEL}** — *{esc_md(DRAFT_DETAIL)}*\n\n{_content(draft, turn)}"
    written = " ".join(sentence_markdown(s, turn, links=False) for s in checked)
    return (f"**{CHECKED_LABEL}** — *{esc_md(CHECKED_DETAIL)}*\n\n{written} ▍\n\n---\n\n"
            f"**{DRAFT_LABEL}** — *{esc_md(DRAFT_KEPT)}*\n\n{_content(draft, turn)}")


def answer_markdown(answer: Answer, turn: int | None) -> str:
    """The verified answer: cited sentences with their verdict marks, table, references.

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
    parts.append(_content(answer, turn))
    return "\n\n".join(p for p in parts if p)


def _content(answer: Answer, turn: int | None) -> str:
    parts = [_body(answer, turn)]
    if answer.table:
        parts.append(table_markdown(answer.table, turn))
    if answer.citations:
        parts.append(references_markdown(answer.citations, answer.sources, turn))
    return "\n\n".join(p for p in parts if p)


def _body(answer: Answer, turn: int | None) -> str:
    if not answer.sentences:
        return esc_md(answer.text)
    return " ".join(sentence_markdown(s, turn) for s in answer.sentences)


def sentence_markdown(s: Sentence, turn: int | None, links: bool = True) -> str:
    """One answer sentence with its citations and its verdict mark (hover or click the mark for the evidence)."""
    text = " ".join(s.text.split())
    verdict = s.verdict if s.verdict in VERDICTS else ("supported" if s.supported else "not_enough_info")
    cited = f" {_marks(s.citations, turn if links else None)}" if s.citations else ""
    if verdict == "supported":
        end = text[-1] if text and text[-1] in ".!?" else ""
        core = text[:-1] if end else text
        return f"{esc_md(core)}{cited}{verdict_mark(verdict, s.evidence, turn)}{esc_md(end)}"
    note = ("contradicted by the cited abstract" if verdict == "contradicted"
            else "unverified: no cited abstract states this")
    return f"{verdict_mark(verdict, s.evidence, turn)} ~~{esc_md(text)}~~{cited} *({note})*"


def verdict_mark(verdict: str, evidence: str, turn: int | None) -> str:
    """✓ / ? / ✗ for a verdict; in the chat a span whose title (hover, or click) quotes the deciding evidence."""
    symbol, label = VERDICTS.get(verdict, VERDICTS["not_enough_info"])
    if turn is None:
        return "" if verdict == "supported" else symbol
    evidence = " ".join(str(evidence or "").split())
    tip = f"{label}: “{evidence}”" if evidence else f"{label}: no abstract sentence states this"
    # "|" would end a Markdown table cell even inside an attribute.
    title = html.escape(tip, quote=True).replace("|", "&#124;")
    return (f'<span class="pc-v pc-v-{verdict}" title="{title}" aria-label="{html.escape(label)}" role="note" '
            f'tabindex="0">{symbol}</span>')


def table_markdown(table: Table, turn: int | None) -> str:
    """The comparison table (aspects x papers) as a Markdown table with cited, verdict-marked cells."""
    head = ["aspect"] + [(_marks([c.n], turn) + " " if c.n else "") + esc_md(short_title(c.title))
                         for c in table.papers]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for aspect, cells in zip(table.aspects, table.cells, strict=True):
        shown = []
        for cell in cells:
            if cell.citation is None or cell.text == NOT_STATED:
                shown.append(f"*{esc_md(cell.text)}*")
            else:
                mark = verdict_mark(cell.verdict, cell.text, turn) if cell.verdict else ""
                shown.append(f"{esc_md(cell.text)} {_marks([cell.citation], turn)}{mark}")
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
            bits = [x for x in (_authors_short(src.paper.authors), year(src.paper.published_text)) if x]
            extra = f" — {esc_md(', '.join(bits))}" if bits else ""
        lines.append(f"- {_marks([c.n], turn)} {title}{extra}")
    return "\n".join(lines)


# -- status ---------------------------------------------------------------------------
def status_markdown(llm_label: str, extractive: bool, embedder: str, store: str, papers: int) -> str:
    """The one-line status: LLM, embedder, store location and paper count."""
    mode = " (extractive answers by default)" if extractive else ""
    return (f"**LLM:** {esc_md(llm_label)}{mode} · **Embedder:** {esc_md(embedder)} · **Store:** {esc_md(store)} · "
            f"**Papers:** {papers}")


def year(published) -> str:
    """The year of a date given as text ('2023-08-01' -> '2023'), or ''."""
    text = str(published or "")
    return text[:4] if text[:4].isdigit() else ""


def _first_author(names: tuple[str, ...]) -> str:
    return names[0] + (" et al." if len(names) > 1 else "") if names else ""


def _authors_short(names: tuple[str, ...]) -> str:
    return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")
