"""The Gradio app: chat with verified citations, a sources panel, a corpus tab and exports.

`ui/` is the only package that imports gradio; everything it shows comes from `assistant/` and `ui.render`.
"""

from __future__ import annotations

import atexit
import hashlib
import inspect
import logging
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path

import gradio as gr

from assistant import offline
from assistant.corpus import open_or_seed
from assistant.embed import MODEL_NAME
from assistant.errors import ConfigError, PaperchatError, ParseError
from assistant.records import Answer, Filters
from assistant.service import Assistant
from assistant.settings import Settings
from ui import render

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".txt", ".json", ".jsonl", ".csv", ".tsv", ".bib", ".xml"]
MAX_FILE_SIZE = "100mb"  # per uploaded file; the 76-paper demo page is 126 kB, so this is ~60k abstracts
# Answers and ingests run one at a time: the embedded llama.cpp server serves one request at a time anyway, and an
# ingest rebuilds the retriever the answers read.
ASSISTANT_CONCURRENCY = 1
EXAMPLES = [
    "Which attack builds a universal adversarial patch against CLIP-like encoders?",
    "How do GroCo and AMCL each change the way positive- and negative-pair similarities enter the contrastive loss?",
    "Summarise the AdvCLIP paper.",
]
PAPER_LIST_MAX = 500  # rows shown in the corpus table; the search box narrows larger stores
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

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
#status { font-size: .9em; }
#chat table td:first-child { white-space: nowrap; }
"""

# Citation markers link to "#src-<turn>-<n>"; scroll the card into view inside the sources panel and flash it.
JS = """
() => {
  document.addEventListener('click', (event) => {
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


def serve(settings: Settings, demo: Path | None = None) -> None:
    """Open (or, with `demo`, fill) the store and serve the UI on settings.host:settings.port until stopped."""
    offline.apply()
    store = open_or_seed(settings, demo)
    if not store.count():
        log.warning("store %s is empty; add papers in the Corpus tab or run: paperchat ingest <file>", store.where)
    assistant = Assistant(settings, store=store)
    # Sentence embeddings for the re-ranker are computed once in the background, so the first questions are fast.
    threading.Thread(target=assistant.warm, daemon=True, name="warm-sentences").start()
    app = build_app(assistant)
    print(f"paperchat: {len(assistant)} papers from {store.where}; "
          f"open http://{settings.host}:{settings.port}", flush=True)
    launch(app, settings)


MAX_QUEUE = 64


def launch(app: gr.Blocks, settings: Settings, **kwargs):
    """Launch with our theme/CSS/JS, no share link, errors shown as our messages; kwargs go to Blocks.launch."""
    auth = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("PAPERCHAT_AUTH / --auth must look like user:password")
        auth = (user, password)
    options = dict(server_name=settings.host, server_port=settings.port, auth=auth, share=False, show_error=True,
                   theme=THEME, css=CSS, js=JS, ssr_mode=False, pwa=False, mcp_server=False,
                   enable_monitoring=False, footer_links=["api", "settings"], max_file_size=MAX_FILE_SIZE)
    options.update(kwargs)
    # A bounded waiting line: past MAX_QUEUE waiting requests a user is told the server is busy.
    app.queue(max_size=MAX_QUEUE)
    return app.launch(**options)


class Occupancy:
    """Counts the assistant handlers running right now and the most seen at once (checked by the load test)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.calls = 0

    def __enter__(self):
        with self._lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self.running -= 1

    def count(self, fn: Callable) -> Callable:
        """fn (a function or a generator function) wrapped so each run is counted, start to finish."""
        if inspect.isgeneratorfunction(fn):
            @wraps(fn)
            def counted_gen(*args, **kwargs):
                with self:
                    yield from fn(*args, **kwargs)
            return counted_gen

        @wraps(fn)
        def counted(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return counted


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Blocks app around one Assistant (shared by all browser sessions); `app.occupancy` counts its handlers."""
    settings = assistant.settings
    stop_requests: set[str] = set()  # sessions whose running answer should stop at its next step
    stop_lock = threading.Lock()
    occupancy = Occupancy()

    def status() -> str:
        # LLM(settings) only names the model; the embedded server starts on the first LLM answer.
        return render.status_markdown(assistant.llm_label, settings.extractive, MODEL_NAME, assistant.store.where,
                                      len(assistant))

    # delete_cache: Gradio's copies of uploads and exports older than an hour are removed hourly.
    with gr.Blocks(title="paperchat", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        history = gr.State([])  # [(question, Answer)], what follow-up questions are resolved against
        filters = gr.State(Filters())
        gr.Markdown("## paperchat — ask the abstracts; every claim cited and checked")
        status_md = gr.Markdown(status(), elem_id="status")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(elem_id="chat", height=560, show_label=False, layout="panel",
                                          latex_delimiters=[], allow_tags=False, feedback_options=None,
                                          buttons=["copy", "copy_all"], group_consecutive_messages=True,
                                          placeholder="Ask about the papers in the store. Answers cite their "
                                                      "sources; click a [n] to see the supporting sentences.")
                        with gr.Row():
                            question = gr.Textbox(show_label=False, placeholder="Ask a question and press Enter",
                                                  scale=6, elem_id="question", autofocus=True)
                            ask = gr.Button("Ask", variant="primary", scale=0, min_width=80)
                            stop = gr.Button("Stop", variant="stop", scale=0, min_width=80, elem_id="stop")
                        with gr.Row():
                            extractive = gr.Checkbox(label="Extractive (no LLM)", value=settings.extractive,
                                                     elem_id="extractive", scale=0, min_width=200)
                            filter_note = gr.Markdown(_filter_note(Filters()), elem_id="filter-note")
                        gr.Examples(EXAMPLES, inputs=[question], label="Examples: ask about a paper, compare "
                                    "methods, summarise a paper")
                        with gr.Row():
                            md_file = gr.DownloadButton("Download conversation (.md)", interactive=False,
                                                        elem_id="export-md", size="sm")
                            bib_file = gr.DownloadButton("Download BibTeX of cited papers", interactive=False,
                                                         elem_id="export-bib", size="sm")
                            new_chat = gr.Button("New conversation", size="sm")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        panel = gr.HTML(render.sources_panel([]), elem_id="sources", max_height=760,
                                        js_on_load=None)
            with gr.Tab("Corpus", id="corpus"):
                with gr.Row():
                    with gr.Column():
                        gr.Markdown("### Add papers\nFiles: daily-papers text, JSON / JSON Lines, CSV / TSV, "
                                    "BibTeX, arXiv Atom XML. Papers already in the store are updated, not duplicated.")
                        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                                        label="Files", elem_id="upload")
                        skip_invalid = gr.Checkbox(label="Skip invalid records (otherwise nothing is added "
                                                   "when a record is bad)", value=False)
                        add = gr.Button("Add to corpus", variant="primary", elem_id="add-files")
                        ingest_note = gr.Markdown(elem_id="ingest-note")
                    with gr.Column():
                        gr.Markdown("### Filters for the next questions\nDates as YYYY, YYYY-MM or YYYY-MM-DD; "
                                    "author is a substring, tag an exact category.")
                        with gr.Row():
                            since = gr.Textbox(label="Since", placeholder="2023-01-01", elem_id="since")
                            until = gr.Textbox(label="Until", placeholder="2023-12-31", elem_id="until")
                        with gr.Row():
                            author = gr.Textbox(label="Author", elem_id="author")
                            tag = gr.Textbox(label="Tag", placeholder="cs.CV", elem_id="tag")
                        with gr.Row():
                            apply = gr.Button("Apply filters", variant="primary", elem_id="apply-filters")
                            reset = gr.Button("Clear filters")
                        filter_state_md = gr.Markdown(_filter_note(Filters()))
                gr.Markdown("### Papers in the store")
                search = gr.Textbox(show_label=False, placeholder="Search titles and ids", elem_id="paper-search")
                papers = gr.Dataframe(_paper_rows(assistant, ""), headers=["id", "title", "published"],
                                      interactive=False, wrap=True, max_height=420, elem_id="papers")

        # -- chat ------------------------------------------------------------------------------
        def respond(text: str, messages: list, hist: list, flt: Filters, use_extractive: bool,
                    request: gr.Request = None) -> Iterator:
            session = _session(request)
            with stop_lock:
                stop_requests.discard(session)  # a Stop pressed while idle does not stop the next question
            text = (text or "").strip()
            if not text:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                return
            turn = len(hist) + 1
            step = {"role": "assistant", "content": "Searching the abstracts…",
                    "metadata": {"title": "Retrieving papers…", "status": "pending"}}
            messages = list(messages) + [{"role": "user", "content": render.esc_md(text)}, step]
            yield messages, gr.Textbox(value="", interactive=False), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            t0 = time.perf_counter()
            raw = ""
            try:
                events = assistant.stream(text, history=hist, filters=flt, extractive=bool(use_extractive))
                finished = False
                for event in _until_stopped(events, lambda: session in stop_requests):
                    if event.kind == "sources":
                        n = len(event.sources)
                        step["metadata"] = {"title": f"Retrieved {n} paper{'' if n == 1 else 's'}", "status": "done",
                                            "duration": round(time.perf_counter() - t0, 2)}
                        step["content"] = render.sources_step(event.sources)
                        messages.append({"role": "assistant", "content": render.streaming_text("")})
                        yield (messages, gr.skip(), gr.skip(), render.sources_panel(_turns(hist), event.sources),
                               gr.skip(), gr.skip())
                    elif event.kind == "delta":
                        raw += event.text
                        messages[-1] = {"role": "assistant", "content": render.streaming_text(raw)}
                        yield messages, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                    elif event.answer is not None:
                        finished = True
                        answer = event.answer
                        hist = list(hist) + [(text, answer)]
                        messages[-1] = {"role": "assistant", "content": render.answer_markdown(answer, turn)}
                        md_path, bib_path = _exports(hist)
                        yield (messages, gr.Textbox(interactive=True), hist, render.sources_panel(_turns(hist)),
                               gr.DownloadButton(value=md_path, interactive=True),
                               gr.DownloadButton(value=bib_path, interactive=True))
                with stop_lock:
                    stopped_now = session in stop_requests
                    stop_requests.discard(session)
                if stopped_now and not finished:
                    yield (_stopped_messages(messages), gr.Textbox(interactive=True), hist,
                           render.sources_panel(_turns(hist)), gr.skip(), gr.skip())
            except PaperchatError as exc:
                log.warning("answering %r failed: %s", text, exc, exc_info=log.isEnabledFor(logging.DEBUG))
                raise gr.Error(str(exc), print_exception=False) from None
            except Exception:
                log.exception("answering %r failed", text)
                raise gr.Error("Answering failed unexpectedly — the details are in the server log.") from None

        def stopped(request: gr.Request):
            """Stop: the running answer notices within 0.1 s and ends itself (see `respond`), so nothing it yields
            late can overwrite the stopped state (cancelling the event raced with its last streamed update)."""
            with stop_lock:
                stop_requests.add(_session(request))

        chat_outputs = [chat, question, history, panel, md_file, bib_file]
        chat_inputs = [question, chat, history, filters, extractive]
        # Enter and the Ask button are one event, so API clients have one endpoint: /ask.
        asked = gr.on([question.submit, ask.click], occupancy.count(respond), chat_inputs, chat_outputs,
                      api_name="ask", concurrency_id="assistant", concurrency_limit=ASSISTANT_CONCURRENCY,
                      show_progress="hidden")
        asked.then(lambda: gr.Textbox(interactive=True), None, [question], queue=False, show_progress="hidden")
        stop.click(stopped, None, None, queue=False)
        new_chat.click(lambda: ([], [], render.sources_panel([]), gr.DownloadButton(value=None, interactive=False),
                                gr.DownloadButton(value=None, interactive=False)),
                       None, [chat, history, panel, md_file, bib_file], queue=False, cancels=[asked])

        # -- corpus ----------------------------------------------------------------------------
        # Gradio injects the tracker through this default argument.
        def add_files(paths: list[str] | None, skip: bool, query: str, progress=gr.Progress()):  # noqa: B008
            if not paths:
                raise gr.Error("Choose one or more files first (" + " ".join(UPLOAD_TYPES) + ").")
            before = len(assistant)
            paths = _uploaded(paths, files.GRADIO_CACHE)
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
            after = len(assistant)
            note = (f"**{after} papers** in the store (was {before}): {report.added} added, {report.updated} "
                    f"updated, {report.unchanged} unchanged, {report.duplicates} duplicates merged.")
            if report.problems:
                shown = "\n".join(f"- {render.esc_md(_user_paths(p, paths))}" for p in report.problems[:10])
                more = f"\n- … and {len(report.problems) - 10} more" if len(report.problems) > 10 else ""
                note += f"\n\nSkipped {len(report.problems)} invalid record(s):\n{shown}{more}"
            return status(), note, _paper_rows(assistant, query), None

        add.click(occupancy.count(add_files), [files, skip_invalid, search], [status_md, ingest_note, papers, files],
                  api_name="add_files", concurrency_id="assistant", concurrency_limit=ASSISTANT_CONCURRENCY)
        search.change(lambda q: _paper_rows(assistant, q), [search], [papers], show_progress="hidden",
                      trigger_mode="always_last")

        def set_filters(s: str, u: str, a: str, t: str):
            for name, value in (("Since", s), ("Until", u)):
                if value.strip() and not _DATE.match(value.strip()):
                    raise gr.Error(f"{name}: {value.strip()!r} is not a date — use YYYY, YYYY-MM or YYYY-MM-DD")
            flt = Filters.from_text(s, u, a, t)
            note = _filter_note(flt)
            return flt, note, note

        filter_inputs = [since, until, author, tag]
        filter_outputs = [filters, filter_note, filter_state_md]
        apply.click(set_filters, filter_inputs, filter_outputs, queue=False)
        for box in filter_inputs:
            box.submit(set_filters, filter_inputs, filter_outputs, queue=False)
        reset.click(lambda: ("", "", "", "", Filters(), _filter_note(Filters()), _filter_note(Filters())), None,
                    filter_inputs + filter_outputs, queue=False)
    app.occupancy = occupancy
    return app


def _uploaded(paths: list[str], cache: str) -> list[Path]:
    """The uploaded files, refused unless each is a supported type inside Gradio's upload cache.

    Gradio already refuses API payloads naming files it did not receive (tests/test_ui_load_security.py); this
    keeps the ingest handler from reading anything else should one get past that (a direct call, a new default).
    """
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


_END = object()


def _until_stopped(events: Iterator, stop: Callable[[], bool], poll: float = 0.1) -> Iterator:
    """The events of an answer, produced on a worker thread so that a Stop is noticed within `poll` seconds even
    while the producer waits (e.g. for the LLM's first token). When iteration ends early, the worker closes the
    producer as soon as it yields again, which closes its LLM request."""
    out: queue.Queue = queue.Queue()
    abandoned = threading.Event()

    def work() -> None:
        try:
            for event in events:
                if abandoned.is_set():
                    break
                out.put((True, event))
        except Exception as exc:  # handed to the consumer, which reports it
            out.put((False, exc))
        finally:
            getattr(events, "close", lambda: None)()  # a generator's cleanup ends its LLM request
            out.put((True, _END))

    threading.Thread(target=work, daemon=True, name="answer-events").start()
    try:
        while not stop():
            try:
                ok, item = out.get(timeout=poll)
            except queue.Empty:
                continue
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        abandoned.set()


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def _stopped_messages(messages: list) -> list:
    """The chat after Stop: the pending step closed, the unverified partial text replaced by a note."""
    messages = list(messages)
    for m in messages:
        if (m.get("metadata") or {}).get("status") == "pending":
            m["metadata"] = {"title": "Stopped", "status": "done"}
    if messages and messages[-1].get("role") == "assistant" and not messages[-1].get("metadata"):
        messages.pop()  # the partial, unverified text
    messages.append({"role": "assistant",
                     "content": "■ *Stopped. Unverified partial text removed; ask again to get an answer.*"})
    return messages


def _turns(hist: list[tuple[str, Answer]]) -> list[tuple[int, Answer]]:
    return [(i, answer) for i, (_, answer) in enumerate(hist, 1)]


_EXPORT_ROOT: Path | None = None


def _export_root() -> Path:
    """One temp folder per process for exports, removed at exit (not one new folder per answer)."""
    global _EXPORT_ROOT
    if _EXPORT_ROOT is None:
        _EXPORT_ROOT = Path(tempfile.mkdtemp(prefix="paperchat-export-"))
        atexit.register(shutil.rmtree, _EXPORT_ROOT, True)
    return _EXPORT_ROOT


def _exports(hist: list[tuple[str, Answer]]) -> tuple[str, str]:
    """Write the conversation (Markdown) and its cited papers (BibTeX); same content, same files."""
    markdown, bib = render.conversation_markdown(hist), render.bibtex(hist)
    folder = _export_root() / hashlib.sha256((markdown + bib).encode()).hexdigest()[:16]
    folder.mkdir(exist_ok=True)
    md_path = folder / "paperchat-conversation.md"
    bib_path = folder / "paperchat-references.bib"
    md_path.write_text(markdown, encoding="utf-8")
    bib_path.write_text(bib, encoding="utf-8")
    return str(md_path), str(bib_path)


def _paper_rows(assistant: Assistant, query: str) -> list[list[str]]:
    rows = [[p.id, p.title, p.published_text] for p in assistant.list_papers(query, PAPER_LIST_MAX)]
    return rows or [["", "(no papers match)" if (query or "").strip() else "(the store is empty)", ""]]


def _filter_note(flt: Filters) -> str:
    parts = [f"{label} {render.esc_md(value)}" for label, value in flt.describe()]
    return "**Filters:** " + (" · ".join(parts) if parts else "none (set them in the Corpus tab)")


def _user_paths(message: str, paths: list[Path]) -> str:
    """Uploaded files live under Gradio's temp dir; show their own names in messages."""
    for p in paths:
        message = message.replace(str(p), p.name)
    return message
