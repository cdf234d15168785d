"""The Corpus tab: add papers from uploaded files, filters for the next questions, the list of stored papers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from assistant.errors import PaperchatError, ParseError
from assistant.records import Filters
from assistant.service import Assistant
from ui import render

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".txt", ".json", ".jsonl", ".csv", ".tsv", ".bib", ".xml"]
PAPER_LIST_MAX = 500  # rows shown in the corpus table; the search box narrows larger stores
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass
class CorpusTab:
    """The corpus tab's components."""

    files: gr.File
    skip_invalid: gr.Checkbox
    add: gr.Button
    ingest_note: gr.Markdown
    since: gr.Textbox
    until: gr.Textbox
    author: gr.Textbox
    tag: gr.Textbox
    apply: gr.Button
    reset: gr.Button
    filter_state: gr.Markdown
    search: gr.Textbox
    papers: gr.Dataframe


def corpus_tab(assistant: Assistant) -> CorpusTab:
    """Lay out the corpus tab (call inside a gr.Tab)."""
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Add papers\nFiles: daily-papers text, JSON / JSON Lines, CSV / TSV, BibTeX, arXiv Atom "
                        "XML. Papers already in the store are updated, not duplicated.")
            files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, type="filepath", label="Files",
                            elem_id="upload")
            skip_invalid = gr.Checkbox(label="Skip invalid records (otherwise nothing is added when a record is bad)",
                                       value=False)
            add = gr.Button("Add to corpus", variant="primary", elem_id="add-files")
            ingest_note = gr.Markdown(elem_id="ingest-note")
        with gr.Column():
            gr.Markdown("### Filters for the next questions\nDates as YYYY, YYYY-MM or YYYY-MM-DD; author is a "
                        "substring, tag an exact category.")
            with gr.Row():
                since = gr.Textbox(label="Since", placeholder="2023-01-01", elem_id="since")
                until = gr.Textbox(label="Until", placeholder="2023-12-31", elem_id="until")
            with gr.Row():
                author = gr.Textbox(label="Author", elem_id="author")
                tag = gr.Textbox(label="Tag", placeholder="cs.CV", elem_id="tag")
            with gr.Row():
                apply = gr.Button("Apply filters", variant="primary", elem_id="apply-filters")
                reset = gr.Button("Clear filters")
            filter_state = gr.Markdown(filter_note(Filters()))
    gr.Markdown("### Papers in the store")
    search = gr.Textbox(show_label=False, placeholder="Search titles and ids", elem_id="paper-search")
    papers = gr.Dataframe(paper_rows(assistant, ""), headers=["id", "title", "published"], interactive=False,
                          wrap=True, max_height=420, elem_id="papers")
    return CorpusTab(files, skip_invalid, add, ingest_note, since, until, author, tag, apply, reset, filter_state,
                     search, papers)


def wire_corpus(tab: CorpusTab, assistant: Assistant, status: gr.Markdown, status_text: Callable[[], str],
                filters: gr.State, chat_filter_note: gr.Markdown, concurrency: int) -> None:
    """Connect the corpus tab's events (call inside the Blocks)."""
    cache = tab.files.GRADIO_CACHE

    # Gradio injects the tracker through this default argument.
    def add_files(paths: list[str] | None, skip: bool, query: str, progress=gr.Progress()):  # noqa: B008
        note = ingest(assistant, uploaded(paths, cache), skip, progress)
        return status_text(), note, paper_rows(assistant, query), None

    # Callable by API clients (the load and upload tests use it) but undocumented, so it is never an MCP tool.
    tab.add.click(add_files, [tab.files, tab.skip_invalid, tab.search], [status, tab.ingest_note, tab.papers, tab.files],
                  api_name="add_files", api_visibility="undocumented", concurrency_id="assistant",
                  concurrency_limit=concurrency)
    tab.search.change(lambda q: paper_rows(assistant, q), [tab.search], [tab.papers], show_progress="hidden",
                      trigger_mode="always_last", api_visibility="private")
    inputs = [tab.since, tab.until, tab.author, tab.tag]
    outputs = [filters, chat_filter_note, tab.filter_state]
    tab.apply.click(set_filters, inputs, outputs, queue=False, api_visibility="private")
    for box in inputs:
        box.submit(set_filters, inputs, outputs, queue=False, api_visibility="private")
    tab.reset.click(lambda: ("", "", "", "", Filters(), filter_note(Filters()), filter_note(Filters())), None,
                    inputs + outputs, queue=False, api_visibility="private")


def ingest(assistant: Assistant, paths: list[Path], skip: bool, progress) -> str:
    """Add the files to the store; the Markdown report of what changed (errors raised as gr.Error)."""
    before = len(assistant)
    progress(0, desc="Checking the files…")

    def tick(done: int, total: int) -> None:
        progress((done, total), desc="Embedding and storing papers", unit="papers")

    try:
        report = assistant.add_files(paths, skip_invalid=skip, progress=tick)
    except ParseError as exc:
        raise gr.Error(_user_paths(str(exc), paths), duration=None, print_exception=False) from None
    except PaperchatError as exc:
        log.warning("ingest failed: %s", exc)
        raise gr.Error(_user_paths(str(exc), paths), print_exception=False) from None
    except Exception:
        log.exception("ingest failed")
        raise gr.Error("Adding the files failed unexpectedly — the details are in the server log.") from None
    note = (f"**{len(assistant)} papers** in the store (was {before}): {report.added} added, {report.updated} "
            f"updated, {report.unchanged} unchanged, {report.duplicates} duplicates merged.")
    if report.problems:
        shown = "\n".join(f"- {render.esc_md(_user_paths(p, paths))}" for p in report.problems[:10])
        more = f"\n- … and {len(report.problems) - 10} more" if len(report.problems) > 10 else ""
        note += f"\n\nSkipped {len(report.problems)} invalid record(s):\n{shown}{more}"
    return note


def uploaded(paths: list[str] | None, cache: str) -> list[Path]:
    """The uploaded files, refused unless each is a supported type inside Gradio's upload cache.

    Gradio already refuses API payloads naming files it did not receive (tests/test_ui_load_security.py); this
    keeps the ingest handler from reading anything else should one get past that (a direct call, a new default).
    """
    if not paths:
        raise gr.Error("Choose one or more files first (" + " ".join(UPLOAD_TYPES) + ").")
    root = Path(cache).resolve()
    out = []
    for p in paths:
        path = Path(p)
        if path.suffix.lower() not in UPLOAD_TYPES:
            raise gr.Error(f"{path.name}: not a supported file type — upload one of {' '.join(UPLOAD_TYPES)}",
                           print_exception=False)
        if not path.resolve().is_relative_to(root):
            log.warning("refused to ingest %s: not in the upload cache %s", p, root)
            raise gr.Error(f"{path.name}: not an uploaded file — add files with the upload box",
                           print_exception=False)
        out.append(path)
    return out


def set_filters(since: str, until: str, author: str, tag: str) -> tuple[Filters, str, str]:
    """Filters from the corpus tab's boxes, with their one-line description for both tabs."""
    for name, value in (("Since", since), ("Until", until)):
        if value.strip() and not _DATE.match(value.strip()):
            raise gr.Error(f"{name}: {value.strip()!r} is not a date — use YYYY, YYYY-MM or YYYY-MM-DD")
    flt = Filters.from_text(since, until, author, tag)
    note = filter_note(flt)
    return flt, note, note


def filter_note(flt: Filters) -> str:
    """'**Filters:** author X · since 2023-01-01' (or none)."""
    parts = [f"{label} {render.esc_md(value)}" for label, value in flt.describe()]
    return "**Filters:** " + (" · ".join(parts) if parts else "none (set them in the Corpus tab)")


def paper_rows(assistant: Assistant, query: str) -> list[list[str]]:
    """Rows (id, title, published) of the stored papers matching `query`."""
    rows = [[p.id, p.title, p.published_text] for p in assistant.list_papers(query, PAPER_LIST_MAX)]
    return rows or [["", "(no papers match)" if (query or "").strip() else "(the store is empty)", ""]]


def _user_paths(message: str, paths: list[Path]) -> str:
    """Uploaded files live under Gradio's temp dir; show their own names in messages."""
    for p in paths:
        message = message.replace(str(p), p.name)
    return message
