"""The Chat tab: question box, streamed answer (verified draft first), Stop, sources panel and exports."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import gradio as gr

from assistant.errors import PaperchatError
from assistant.records import Answer, Filters, Sentence
from assistant.service import Assistant, Event
from ui import panel as sources
from ui import render
from ui.exports import ExportFolder
from ui.stream import StopRequests, until_stopped

log = logging.getLogger(__name__)

EXAMPLES = [
    "Which attack builds a universal adversarial patch against CLIP-like encoders?",
    "How do GroCo and AMCL each change the way positive- and negative-pair similarities enter the contrastive loss?",
    "Summarise the AdvCLIP paper.",
]
STOPPED_NOTE = "■ *Stopped. Unverified partial text removed; ask again to get an answer.*"
STOPPED_DRAFT_NOTE = "Stopped: the model's unverified text was removed; the verified extracts are kept."


@dataclass
class ChatTab:
    """The chat tab's components (the corpus tab writes filter_note; the app wires the rest)."""

    chat: gr.Chatbot
    question: gr.Textbox
    ask: gr.Button
    stop: gr.Button
    extractive: gr.Checkbox
    filter_note: gr.Markdown
    md_file: gr.DownloadButton
    bib_file: gr.DownloadButton
    new_chat: gr.Button
    panel: gr.HTML


def chat_tab(extractive_default: bool, filter_note: str) -> ChatTab:
    """Lay out the chat tab (call inside a gr.Tab)."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chat = gr.Chatbot(elem_id="chat", height=560, show_label=False, layout="panel", latex_delimiters=[],
                              allow_tags=False, feedback_options=None, buttons=["copy", "copy_all"],
                              group_consecutive_messages=True,
                              placeholder="Ask about the papers in the store. Answers cite their sources; click a "
                                          "[n] to see the supporting sentences, hover or click a ✓ ? ✗ mark to "
                                          "see the evidence that decided it.")
            with gr.Row():
                question = gr.Textbox(show_label=False, placeholder="Ask a question and press Enter", scale=6,
                                      elem_id="question", autofocus=True)
                ask = gr.Button("Ask", variant="primary", scale=0, min_width=80)
                stop = gr.Button("Stop", variant="stop", scale=0, min_width=80, elem_id="stop")
            with gr.Row():
                extractive = gr.Checkbox(label="Extractive (no LLM)", value=extractive_default, elem_id="extractive",
                                         scale=0, min_width=200)
                note = gr.Markdown(filter_note, elem_id="filter-note")
            gr.Examples(EXAMPLES, inputs=[question], label="Examples: ask about a paper, compare methods, "
                        "summarise a paper")
            with gr.Row():
                md_file = gr.DownloadButton("Download conversation (.md)", interactive=False, elem_id="export-md",
                                            size="sm")
                bib_file = gr.DownloadButton("Download BibTeX of cited papers", interactive=False,
                                             elem_id="export-bib", size="sm")
                new_chat = gr.Button("New conversation", size="sm")
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            panel = gr.HTML(sources.sources_panel([]), elem_id="sources", max_height=760)
    return ChatTab(chat, question, ask, stop, extractive, note, md_file, bib_file, new_chat, panel)


def _updates(messages=None, box=None, hist=None, panel=None, md=None, bib=None) -> tuple:
    """One update of the chat outputs (chat, question, history, panel, md_file, bib_file); None = unchanged."""
    return tuple(gr.skip() if v is None else v for v in (messages, box, hist, panel, md, bib))


class _Turn:
    """One question being answered: the chat messages it shows and what it has received so far."""

    def __init__(self, text: str, messages: list, hist: list):
        self.text, self.hist, self.number = text, list(hist), len(hist) + 1
        self.step = {"role": "assistant", "content": "Searching the abstracts…",
                     "metadata": {"title": "Retrieving papers…", "status": "pending"}}
        self.messages = list(messages) + [{"role": "user", "content": render.esc_md(text)}, self.step]
        self.t0 = time.perf_counter()
        self.raw = ""  # the LLM's text so far; shown only while no verified draft exists
        self.draft: Answer | None = None
        self.checked: list[Sentence] = []  # the LLM's sentences verified so far
        self.finished = False

    def on_sources(self, event: Event) -> tuple:
        n = len(event.sources)
        self.step["metadata"] = {"title": f"Retrieved {n} paper{'' if n == 1 else 's'}", "status": "done",
                                 "duration": round(time.perf_counter() - self.t0, 2)}
        self.step["content"] = render.sources_step(event.sources)
        self.messages.append({"role": "assistant", "content": render.streaming_text("")})
        return _updates(self.messages, panel=sources.sources_panel(_turns(self.hist), event.sources))

    def on_draft(self, event: Event) -> tuple:
        """Verified extracts on screen at once; the panel shows their cards so the [n] links work."""
        self.draft = event.answer
        self._show(render.draft_markdown(self.draft, self.number))
        return _updates(self.messages, panel=sources.sources_panel(_turns(self.hist + [(self.text, self.draft)])))

    def on_delta(self, event: Event) -> tuple | None:
        self.raw += event.text
        if self.draft is not None:
            return None  # unchecked text is not shown over verified content
        self._show(render.streaming_text(self.raw))
        return _updates(self.messages)

    def on_sentence(self, event: Event) -> tuple | None:
        """One more LLM sentence verified: shown above the draft, with its mark."""
        self.checked.append(event.sentence)
        if self.draft is None:
            return None
        self._show(render.draft_markdown(self.draft, self.number, self.checked))
        return _updates(self.messages)

    def on_answer(self, answer: Answer, exports: ExportFolder) -> tuple:
        self.finished = True
        self.hist.append((self.text, answer))
        self._show(render.answer_markdown(answer, self.number))
        md_path, bib_path = exports.write(self.hist)
        return _updates(self.messages, gr.Textbox(interactive=True), self.hist, sources.sources_panel(_turns(self.hist)),
                        gr.DownloadButton(value=md_path, interactive=True),
                        gr.DownloadButton(value=bib_path, interactive=True))

    def stopped_messages(self) -> list:
        """The chat after Stop: the pending step closed, the unverified partial text replaced by a note."""
        for m in self.messages:
            if (m.get("metadata") or {}).get("status") == "pending":
                m["metadata"] = {"title": "Stopped", "status": "done"}
        if self.messages[-1].get("role") == "assistant" and not self.messages[-1].get("metadata"):
            self.messages.pop()  # the partial, unverified text
        self.messages.append({"role": "assistant", "content": STOPPED_NOTE})
        return self.messages

    def _show(self, content: str) -> None:
        self.messages[-1] = {"role": "assistant", "content": content}


class Responder:
    """The chat's event handlers around one Assistant, shared by every browser session."""

    def __init__(self, assistant: Assistant, stops: StopRequests, exports: ExportFolder):
        self.assistant, self.stops, self.exports = assistant, stops, exports

    def respond(self, text: str, messages: list, hist: list, flt: Filters, use_extractive: bool,
                request: gr.Request = None) -> Iterator:
        """Answer one question, streaming: sources, verified draft, the LLM's text, the verified answer."""
        session = _session(request)
        self.stops.take(session)  # a Stop pressed while idle does not stop the next question
        text = (text or "").strip()
        if not text:
            yield _updates()
            return
        turn = _Turn(text, messages, hist)
        yield _updates(turn.messages, gr.Textbox(value="", interactive=False))
        try:
            events = self.assistant.stream(text, history=hist, filters=flt, extractive=bool(use_extractive))
            for event in until_stopped(events, lambda: self.stops.pending(session)):
                update = self._on(turn, event)
                if update is not None:
                    yield update
            if self.stops.take(session) and not turn.finished:
                yield self._stopped(turn)
        except PaperchatError as exc:
            log.warning("answering %r failed: %s", text, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("answering %r failed", text)
            raise gr.Error("Answering failed unexpectedly — the details are in the server log.") from None

    def _on(self, turn: _Turn, event: Event) -> tuple | None:
        """The chat update for one event of the answer (None: nothing new to show)."""
        if event.kind == "answer":
            return turn.on_answer(event.answer, self.exports)
        handler = {"sources": turn.on_sources, "draft": turn.on_draft, "delta": turn.on_delta,
                   "sentence": turn.on_sentence}.get(event.kind)
        return handler(event) if handler else None

    def _stopped(self, turn: _Turn) -> tuple:
        """Stop before the answer: keep the verified draft if there is one, drop the unverified text."""
        if turn.draft is None:
            return _updates(turn.stopped_messages(), gr.Textbox(interactive=True), turn.hist,
                            sources.sources_panel(_turns(turn.hist)))
        kept = replace(turn.draft, notice=STOPPED_DRAFT_NOTE)
        return turn.on_answer(kept, self.exports)

    def stop(self, request: gr.Request) -> None:
        """Stop: the running answer notices within 0.1 s and ends itself (see `respond`), so nothing it yields
        late can overwrite the stopped state (cancelling the event raced with its last streamed update)."""
        self.stops.request(_session(request))


def wire_chat(tab: ChatTab, responder: Responder, history: gr.State, filters: gr.State, concurrency: int) -> None:
    """Connect the chat tab's events (call inside the Blocks)."""
    outputs = [tab.chat, tab.question, history, tab.panel, tab.md_file, tab.bib_file]
    inputs = [tab.question, tab.chat, history, filters, tab.extractive]
    # Enter and the Ask button are one event, so API clients have one endpoint: /ask. It stays callable by
    # clients but undocumented, so it is not an MCP tool (the `ask` tool returns the answer as JSON instead).
    asked = gr.on([tab.question.submit, tab.ask.click], responder.respond, inputs, outputs, api_name="ask",
                  api_visibility="undocumented", concurrency_id="assistant", concurrency_limit=concurrency,
                  show_progress="hidden")
    asked.then(lambda: gr.Textbox(interactive=True), None, [tab.question], queue=False, show_progress="hidden",
               api_visibility="private")
    tab.stop.click(responder.stop, None, None, queue=False, api_visibility="private")
    tab.new_chat.click(lambda: ([], [], sources.sources_panel([]), gr.DownloadButton(value=None, interactive=False),
                                gr.DownloadButton(value=None, interactive=False)),
                       None, [tab.chat, history, tab.panel, tab.md_file, tab.bib_file], queue=False,
                       cancels=[asked], api_visibility="private")


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def _turns(hist: list[tuple[str, Answer]]) -> list[tuple[int, Answer]]:
    return [(i, answer) for i, (_, answer) in enumerate(hist, 1)]
