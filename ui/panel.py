"""The sources panel: the cited papers as cards with their supporting sentences highlighted; pure HTML, no Gradio.

Titles, abstracts and authors come from uploaded files, so every string is HTML-escaped here.
"""

from __future__ import annotations

import html

from assistant.records import NOT_STATED, Answer, Source, StoredPaper
from ui.render import anchor, safe_url


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
