"""The Gradio app: chat with verified citations, a sources panel, a corpus tab, a claim check, MCP tools.

`ui/` is the only package that imports gradio; everything it shows comes from `assistant/` and `ui.render`.
This module composes the tabs (ui.chat, ui.corpus, ui.claims), the MCP tools (ui.mcp) and launches the server.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path

import gradio as gr

from assistant import offline
from assistant.corpus import open_or_seed
from assistant.embed import MODEL_NAME
from assistant.errors import ConfigError
from assistant.records import Filters
from assistant.service import Assistant
from assistant.settings import Settings
from ui import render
from ui.chat import Responder, chat_tab, wire_chat
from ui.claims import claims_tab, wire_claims
from ui.corpus import UPLOAD_TYPES, corpus_tab, filter_note, wire_corpus
from ui.exports import ExportFolder
from ui.mcp import register_tools
from ui.stream import StopRequests
from ui.theme import CSS, JS, THEME

__all__ = ["ASSISTANT_CONCURRENCY", "MAX_FILE_SIZE", "UPLOAD_TYPES", "build_app", "launch", "serve"]

log = logging.getLogger(__name__)

MAX_FILE_SIZE = "100mb"  # per uploaded file; the 76-paper demo page is 126 kB, so this is ~60k abstracts
# Answers, claim checks and ingests run one at a time: the embedded llama.cpp server serves one request at a time
# anyway, and an ingest rebuilds the retriever the answers read.
ASSISTANT_CONCURRENCY = 1
MAX_QUEUE = 64  # waiting requests; past this a user is told the server is busy
MCP_PATH = "/gradio_api/mcp/sse"  # Gradio's standard MCP endpoint (SSE transport)


def serve(settings: Settings, demo: Path | None = None) -> None:
    """Open (or, with `demo`, fill) the store and serve the UI on settings.host:settings.port until stopped."""
    offline.apply()
    store = open_or_seed(settings, demo)
    if not store.count():
        log.warning("store %s is empty; add papers in the Corpus tab or run: paperchat ingest <file>", store.where)
    assistant = Assistant(settings, store=store)
    # Sentence embeddings for the re-ranker are computed once in the background, so the first questions are fast.
    threading.Thread(target=assistant.warm, daemon=True, name="warm-sentences").start()
    assistant.prewarm()  # the embedded LLM loads while the page opens
    app = build_app(assistant)
    url = f"http://{settings.host}:{settings.port}"
    mcp = f"; MCP tools at {url}{MCP_PATH}" if settings.mcp else ""
    print(f"paperchat: {len(assistant)} papers from {store.where}; open {url}{mcp}", flush=True)
    launch(app, settings)


def launch(app: gr.Blocks, settings: Settings, **kwargs):
    """Launch with our theme/CSS/JS, no share link, errors shown as our messages; kwargs go to Blocks.launch."""
    auth = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("PAPERCHAT_AUTH / --auth must look like user:password")
        auth = (user, password)
    if settings.mcp and auth:
        # Gradio mounts its MCP endpoint beside the login, not behind it: tools would be open to anyone.
        raise ConfigError("the MCP tools have no login — serve with --auth or with --mcp, not both")
    if settings.mcp and importlib.util.find_spec("mcp") is None:  # Gradio would only print that it failed
        raise ConfigError("--mcp needs the MCP SDK — install it: pip install 'mcp==1.30.0'")
    options = dict(server_name=settings.host, server_port=settings.port, auth=auth, share=False, show_error=True,
                   theme=THEME, css=CSS, js=JS, ssr_mode=False, pwa=False, mcp_server=settings.mcp,
                   enable_monitoring=False, footer_links=["api", "settings"], max_file_size=MAX_FILE_SIZE)
    options.update(kwargs)
    app.queue(max_size=MAX_QUEUE)
    return app.launch(**options)


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Blocks app around one Assistant (shared by all browser sessions); with settings.mcp, the MCP tools."""
    settings = assistant.settings
    responder = Responder(assistant, StopRequests(), ExportFolder())

    def status() -> str:
        # Naming the model does not start the embedded server; it starts on the first LLM answer.
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
                chat = chat_tab(settings.extractive, filter_note(Filters()))
            with gr.Tab("Check a claim", id="claims"):
                claims = claims_tab()
            with gr.Tab("Corpus", id="corpus"):
                corpus = corpus_tab(assistant)
        wire_chat(chat, responder, history, filters, ASSISTANT_CONCURRENCY)
        wire_claims(claims, assistant, ASSISTANT_CONCURRENCY)
        wire_corpus(corpus, assistant, status_md, status, filters, chat.filter_note, ASSISTANT_CONCURRENCY)
        if settings.mcp:
            register_tools(assistant, ASSISTANT_CONCURRENCY)
    return app
