"""The look of the app: theme (system fonts only), CSS and the page script for citation links and verdict marks."""

from __future__ import annotations

import gradio as gr

# System fonts only: the default theme's web fonts are served locally too, but nothing should depend on a fetch.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
          "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"],
)

CSS = """
.pc-sources { font-size: 0.92em; }
.pc-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 0 0 10px;
           scroll-margin: 16px; transition: background-color .4s, box-shadow .4s; }
.pc-card.pc-highlight { box-shadow: 0 0 0 3px #f59e0b; background: rgba(245, 158, 11, .12); }
.pc-title { font-weight: 600; }
.pc-n { color: var(--color-accent); font-weight: 700; }
.pc-meta, .pc-id, .pc-muted { color: var(--body-text-color-subdued); font-size: .9em; }
.pc-abstract { margin: 6px 0 0; line-height: 1.45; }
.pc-card mark { background: rgba(250, 204, 21, .45); color: inherit; padding: 0 1px; border-radius: 2px; }
.pc-refused { font-weight: 600; }
.pc-q { font-weight: 600; margin: 8px 0 4px; }
.pc-sources details > summary { cursor: pointer; margin: 6px 0; }
.pc-v { cursor: help; font-size: .8em; font-weight: 700; margin: 0 0 0 1px; padding: 0 2px; border-radius: 3px;
        vertical-align: super; }
.pc-v-supported { color: #15803d; }
.pc-v-not_enough_info { color: #b45309; background: rgba(245, 158, 11, .15); }
.pc-v-contradicted { color: #b91c1c; background: rgba(239, 68, 68, .15); }
.pc-v.pc-open::after { content: " " attr(title); font-weight: 400; font-style: italic; vertical-align: baseline;
                       color: var(--body-text-color); }
.pc-claims table td { vertical-align: top; }
.pc-claims .pc-v { vertical-align: baseline; font-size: 1em; }
.pc-claims td:nth-child(2) { white-space: nowrap; }
#status { font-size: .9em; }
#chat table td:first-child { white-space: nowrap; }
"""

# Citation markers link to "#src-<turn>-<n>": scroll the card into view inside the sources panel and flash it.
# A verdict mark (.pc-v) shows its evidence on hover (title) and, clicked or Enter-ed, inline after the mark.
JS = """
() => {
  const toggleMark = (event) => {
    const mark = event.target.closest ? event.target.closest('.pc-v') : null;
    if (!mark) return false;
    mark.classList.toggle('pc-open');
    return true;
  };
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && toggleMark(event)) event.preventDefault();
  }, true);
  document.addEventListener('click', (event) => {
    if (toggleMark(event)) return;
    const link = event.target.closest ? event.target.closest('a[href^="#src-"]') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(decodeURIComponent(link.getAttribute('href').slice(1)));
    if (!card) return;
    for (let el = card.parentElement; el; el = el.parentElement) {
      if (el.tagName === 'DETAILS') el.open = true;
    }
    document.querySelectorAll('.pc-card.pc-highlight').forEach((c) => c.classList.remove('pc-highlight'));
    card.classList.add('pc-highlight');
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  }, true);
}
"""
